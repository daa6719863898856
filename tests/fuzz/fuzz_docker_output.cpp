// Every reader of the Docker CLI's output on arbitrary bytes. The first byte picks the reader:
// 0 `docker container inspect` of one environment (as up, down, open, ssh read it),
// 1 the inspect of many (ps --all, choose_environment), 2 `docker ps --format` lines,
// 3 `docker version` / `docker info` (rest cut at a NUL), 4 `docker image inspect` labels,
// 5 doctor ENV's container inspect, 6 `docker image inspect` for pin.
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor/report.hpp"
#include "doctor/snapshot.hpp"
#include "fuzz_support.hpp"
#include "lifecycle/inspect.hpp"
#include "matrix/matrix.hpp"
#include "pin/pin.hpp"

using namespace launcher;

namespace {

void read_environment(const nlohmann::json& container) {
  (void)lifecycle::env_of(container);
  (void)lifecycle::name_of(container);
  (void)lifecycle::profile_of(container);
  (void)lifecycle::plan_hash_of(container);
  (void)lifecycle::status_of(container);
  (void)lifecycle::is_running(container);
  (void)lifecycle::endpoints_of(container);
  if (auto endpoint = lifecycle::endpoint_for(container, 8888)) (void)lifecycle::reachable_host(*endpoint);
  (void)lifecycle::gpus_of(container);
  (void)lifecycle::env_variable(container, "LAUNCHER_USER");
  (void)lifecycle::mount_targets_of(container);
}

void check_report(const doctor::Subject& subject, const doctor::HostSnapshot& snapshot) {
  const matrix::Matrix& matrix = matrix::embedded_matrix();
  auto results = doctor::doctor_checks(subject, snapshot, matrix);
  (void)doctor::format_report(results);
  (void)doctor::report_json(results, snapshot).dump();
}

void read(std::uint8_t reader, std::string_view text) {
  const matrix::Matrix& matrix = matrix::embedded_matrix();
  switch (reader % 7) {
  case 0:
    read_environment(docker::parse_inspect_output(text, "docker container inspect"));
    break;
  case 1:
    for (const auto& container : docker::parse_inspect_list(text))
      read_environment(container);
    break;
  case 2:
    (void)docker::parse_listing(text, {"io.launcher.env", "io.launcher.gpus"});
    break;
  case 3: {
    std::vector<std::string> parts = fuzz::split_at_nul(text, 2);
    facts::Fact version{true, 0, parts[0], ""}, info{true, 0, parts.size() > 1 ? parts[1] : "", ""};
    doctor::HostSnapshot snapshot;
    snapshot.docker = doctor::parse_docker_facts(&version, &info);
    check_report({}, snapshot);
    break;
  }
  case 4: {
    doctor::HostSnapshot snapshot;
    snapshot.image = doctor::parse_image_facts("pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04",
                                               {true, 0, std::string(text), ""}, matrix);
    doctor::Subject subject;
    subject.gpus.kind = plan::GpuAssignment::Kind::all;
    check_report(subject, snapshot);
    break;
  }
  case 5: {
    facts::MemoryFactSource facts;
    facts.answers["docker-container-inspect.json"] = {true, 0, std::string(text), ""};
    facts::HostQueries queries(facts, "docker");
    auto [subject, snapshot] = doctor::gather_container_facts(queries, "env", matrix);
    check_report(subject, snapshot);
    break;
  }
  case 6:
    (void)pin::registry_digest(docker::parse_inspect_output(text, "docker image inspect"), "pytorch-cuda");
    break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    read(data[0], fuzz::as_text(data + 1, size - 1));
  } catch (const Error&) {}
  return 0;
}
