// Every reader of the Docker CLI's output on arbitrary bytes. The first byte picks the reader:
// 0 `docker container inspect` of one environment (as up, down, open, ssh read it),
// 1 the inspect of many (ps --all, choose_environment), 2 `docker ps --format` lines,
// 3 `docker version` / `docker info` (rest cut at a NUL), 4 `docker image inspect` labels,
// 5 doctor ENV's container inspect, 6 `docker image inspect` for pin, 7 the engine's stderr (and
// a container's log) as every error message shows it, 8 `docker ps` lines as `ps` prints them,
// 9 `docker version --format '{{json .Client}}'` as `build` reads it, and its refusal,
// 10 what answers on a container's published port, as the Jupyter probe reads its status line.
// Invariant: no message made of the engine's text holds a raw control character (7, 8, 9).
#include <cstdlib>

#include "build/buildkit.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor/report.hpp"
#include "doctor/snapshot.hpp"
#include "engine/docker_engine.hpp"
#include "fuzz_support.hpp"
#include "lifecycle/inspect.hpp"
#include "matrix/matrix.hpp"
#include "pin/pin.hpp"
#include "probe/probe.hpp"

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

// Aborts (libFuzzer reports the input) when `message` holds a control character; newlines only
// where the text is a log shown as lines.
void require_escaped(const std::string& message, bool lines = false) {
  for (char c : message) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && !(lines && c == '\n')) || byte == 0x7F) std::abort();
  }
  if (message.find("\xc2\x80") != std::string::npos || !is_valid_utf8(message)) std::abort();
  for (std::size_t at = message.find('\xc2'); at != std::string::npos; at = message.find('\xc2', at + 1))
    if (at + 1 < message.size() && static_cast<unsigned char>(message[at + 1]) <= 0x9F) std::abort();
}

void read_engine_stderr(std::string_view text) {
  std::vector<std::string> parts = fuzz::split_at_nul(text, 2);
  const std::string& stderr_text = parts[0];
  int exit_code = parts.size() > 1 && !parts[1].empty() ? static_cast<unsigned char>(parts[1][0]) : 1;
  require_escaped(docker::stderr_tail(stderr_text));
  require_escaped(docker::explain_failure("start env", stderr_text));
  require_escaped(docker::explain_failure("start env", process::ProcessResult{exit_code, "", stderr_text}));
  require_escaped(escape_control_characters(stderr_text));
  require_escaped(escape_control_characters(stderr_text, Newlines::keep), true);
  docker::Docker cli("docker", [&](const std::vector<std::string>&, const process::ProcessOptions&) {
    return process::ProcessResult{exit_code == 0 ? 1 : exit_code, stderr_text, stderr_text};
  });
  require_escaped(engine::DockerEngine(cli).logs_tail("env", 40), true);
  try {
    cli.run({"network", "create", "n"}, "create network n");
  } catch (const Error& error) {
    require_escaped(error.what());
  }
  try {
    (void)engine::DockerEngine(cli).inspect_container("env");
  } catch (const Error& error) {
    require_escaped(error.what());
  }
}

void read(std::uint8_t reader, std::string_view text) {
  const matrix::Matrix& matrix = matrix::embedded_matrix();
  switch (reader % 11) {
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
    facts::HostQueries queries(facts, launcher::testing::replay_engine());
    auto [subject, snapshot] = doctor::gather_container_facts(queries, "env", matrix);
    check_report(subject, snapshot);
    break;
  }
  case 6:
    (void)pin::registry_digest(docker::parse_inspect_output(text, "docker image inspect"), "pytorch-cuda");
    break;
  case 7:
    read_engine_stderr(text);
    break;
  case 8:
    for (const auto& container : docker::parse_listing(text, {"io.launcher.env", "io.launcher.gpus"}))
      for (const auto& field : {container.name, container.image, container.status, container.ports,
                                container.labels.at("io.launcher.env"), container.labels.at("io.launcher.gpus")})
        require_escaped(escape_control_characters(field));
    break;
  case 9: {
    build::DockerClient client{"docker", build::parse_client_version(text, "docker version"), false};
    (void)build::buildkit_of(client);
    require_escaped(build::missing_buildkit_message(client));
    break;
  }
  case 10:
    if (auto status = probe::http_status(text); status && (*status < 0 || *status > 999)) std::abort();
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
