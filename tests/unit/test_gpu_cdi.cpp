#include <catch2/catch.hpp>

#include <algorithm>

#include "core/read_file.hpp"
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor_fixtures.hpp"
#include "gpu/cdi.hpp"
#include "host/gpu_runtime.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::doctor::CheckResult;
using launcher::doctor::Status;
using launcher::testing::gpu_subject;
using launcher::testing::require_error;
using launcher::testing::snapshot_of;
using nlohmann::json;

namespace {

const std::string h100 = "gpu/h100-80gb-hbm3";
const std::string h100_uuid = "GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb";
const std::string engine_28_2 = "docker/engine-28.2-nvidia-toolkit";
const std::string engine_28_5 = "docker/engine-28.5-cdi-devices";
const std::string cu128 = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";
const std::string generate = "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml";

doctor::Subject cdi_subject(plan::GpuAssignment gpus) {
  doctor::Subject subject = gpu_subject(cu128, std::move(gpus));
  subject.gpu_runtime = host::GpuRuntime::cdi;
  return subject;
}

std::optional<CheckResult> cdi_on(const std::vector<std::string>& folders, const doctor::Subject& subject) {
  return doctor::cdi_check(subject, snapshot_of(folders, subject));
}

const plan::GpuAssignment gpu_0{plan::GpuAssignment::Kind::devices, {"0"}};

} // namespace

TEST_CASE("nvidia-ctk cdi list and docker info give the devices the specs define", "[gpu][cdi]") {
  std::string listed = read_file(testing::fixture("cdi/h100-spec-580/nvidia-ctk-cdi-list.txt"));
  CHECK(gpu::parse_cdi_list(listed) ==
        std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=" + h100_uuid, "nvidia.com/gpu=all"});
  CHECK(gpu::parse_cdi_list("INFO[0000] Found 1 CDI devices\nnvidia.com/gpu=0\n\n=x\na/=b\nnvidia.com/gpu=\n") ==
        std::vector<std::string>{"nvidia.com/gpu=0"});

  json info = json::parse(read_file(testing::fixture(engine_28_5 + "/docker-info.json")));
  CHECK(gpu::discovered_cdi_devices(JsonReader(info, "docker info")) ==
        std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=" + h100_uuid, "nvidia.com/gpu=all"});
  json older = json::parse(read_file(testing::fixture(engine_28_2 + "/docker-info.json")));
  CHECK(gpu::discovered_cdi_devices(JsonReader(older, "docker info")).empty());
  json mixed = {{"DiscoveredDevices",
                 {{{"Source", "cdi"}, {"ID", "vendor1.com/device=foo"}}, {{"Source", "other"}, {"ID", "x"}}}}};
  CHECK(gpu::discovered_cdi_devices(JsonReader(mixed, "docker info")) ==
        std::vector<std::string>{"vendor1.com/device=foo"});
  CHECK(gpu::nvidia_cdi_devices({"vendor1.com/device=foo", "nvidia.com/gpu=0"}) ==
        std::vector<std::string>{"nvidia.com/gpu=0"});
  json no_id = {{"DiscoveredDevices", {{{"Source", "cdi"}}}}};
  CHECK_THROWS_WITH(gpu::discovered_cdi_devices(JsonReader(no_id, "docker info")),
                    Catch::Contains("DiscoveredDevices/0/ID"));

  CHECK(gpu::missing_cdi_devices({"nvidia.com/gpu=1", "nvidia.com/gpu=0", "nvidia.com/gpu=2"},
                                 {"nvidia.com/gpu=0", "nvidia.com/gpu=all"}) ==
        std::vector<std::string>{"nvidia.com/gpu=1", "nvidia.com/gpu=2"});
}

TEST_CASE("doctor ENV reads a container's CDI devices as its GPUs through CDI", "[doctor][cdi]") {
  json inspect = json::parse(read_file(testing::fixture("docker/container-healthy/docker-container-inspect.json")));
  json& requests = inspect["HostConfig"]["DeviceRequests"];
  requests = json::array({{{"Driver", "cdi"}, {"Count", 0}, {"DeviceIDs", {"nvidia.com/gpu=0"}}}});
  doctor::Subject subject = doctor::subject_of_container("env", inspect);
  CHECK(subject.gpu_runtime == host::GpuRuntime::cdi);
  CHECK(subject.gpus.kind == plan::GpuAssignment::Kind::devices);
  CHECK(subject.gpus.devices == std::vector<std::string>{"0"});
}

TEST_CASE("a spec's driver is the version of the driver libraries it mounts", "[gpu][cdi]") {
  CHECK(gpu::spec_driver_version(read_file(testing::fixture("cdi/h100-spec-580/cdi-spec-etc-cdi-nvidia.yaml"))) ==
        "580.159.04");
  CHECK(gpu::spec_driver_version(read_file(testing::fixture("cdi/h100-spec-550-stale/cdi-spec-etc-cdi-nvidia.yaml"))) ==
        "550.54.15");
  // JSON specs hold the same paths; the ABI names next to them are no driver version.
  CHECK(gpu::spec_driver_version(R"({"hooks":[{"args":["--link","libcuda.so.1::/usr/lib/libcuda.so"]}],)"
                                 R"("mounts":[{"hostPath":"/usr/lib64/libcuda.so.470.199.02"}]})") == "470.199.02");
  CHECK(gpu::spec_driver_version("hostPath: /usr/lib/libnvidia-ml.so.575.57.08\n") == "575.57.08");
  CHECK_FALSE(gpu::spec_driver_version("libcuda.so.1\nlibcuda.so.1.1\nlibcuda.so.550.\n"));
  CHECK_FALSE(gpu::spec_driver_version(""));
}

TEST_CASE("doctor offers CDI where Docker lists NVIDIA CDI devices", "[doctor][cdi]") {
  CHECK(cdi_on({h100, engine_28_5}, gpu_subject(cu128)) ==
        CheckResult{"cdi", Status::ok,
                    "Docker lists 3 NVIDIA CDI devices: LAUNCHER_GPU_RUNTIME=cdi would pass the GPUs as --device "
                    "nvidia.com/gpu=... through that spec, MIG devices by UUID too",
                    ""});
  CHECK_FALSE(cdi_on({h100, engine_28_2}, gpu_subject(cu128)));
  CHECK_FALSE(cdi_on({h100, engine_28_5}, gpu_subject(cu128, {plan::GpuAssignment::Kind::none, {}})));
}

TEST_CASE("doctor checks that the CDI spec lists the GPUs and fits the driver", "[doctor][cdi]") {
  CHECK(cdi_on({h100, engine_28_5, "cdi/h100-spec-580"}, cdi_subject(gpu_0)) ==
        CheckResult{"cdi", Status::ok,
                    "GPUs through CDI (nvidia.com/gpu=0): docker info lists them; /etc/cdi/nvidia.yaml is for driver "
                    "580.159.04",
                    ""});
  // An engine that lists no devices: nvidia-ctk says what the specs define.
  CHECK(cdi_on({h100, engine_28_2, "cdi/h100-spec-580"},
               cdi_subject({plan::GpuAssignment::Kind::devices, {h100_uuid}})) ==
        CheckResult{"cdi", Status::ok,
                    "GPUs through CDI (nvidia.com/gpu=" + h100_uuid +
                        "): nvidia-ctk cdi list lists them; /etc/cdi/nvidia.yaml is for driver 580.159.04",
                    ""});
  CHECK(
      cdi_on({h100, engine_28_2, "cdi/h100-spec-580"}, cdi_subject({plan::GpuAssignment::Kind::devices, {"0", "1"}})) ==
      CheckResult{"cdi", Status::fail,
                  "GPUs through CDI (nvidia.com/gpu=0, nvidia.com/gpu=1): nvidia-ctk cdi list lists no "
                  "nvidia.com/gpu=1 (it lists nvidia.com/gpu=0, nvidia.com/gpu=" +
                      h100_uuid + ", nvidia.com/gpu=all)",
                  generate});
  CHECK(cdi_on({h100, engine_28_2, "cdi/h100-spec-550-stale"}, cdi_subject(gpu_0)) ==
        CheckResult{"cdi", Status::fail,
                    "GPUs through CDI (nvidia.com/gpu=0): /etc/cdi/nvidia.yaml was generated for driver 550.54.15, "
                    "the driver is 580.159.04 (its libraries are gone)",
                    generate});
  CHECK(cdi_on({h100, "docker/engine-20.10-no-toolkit", "cdi/no-spec"}, cdi_subject(gpu_0)) ==
        CheckResult{"cdi", Status::fail,
                    "GPUs through CDI (nvidia.com/gpu=0): no CDI spec for NVIDIA GPUs in /etc/cdi or /var/run/cdi",
                    generate});
  CHECK(cdi_on({h100, engine_28_2, "cdi/no-nvidia-ctk"}, cdi_subject({plan::GpuAssignment::Kind::all, {}})) ==
        CheckResult{"cdi", Status::warn,
                    "GPUs through CDI (nvidia.com/gpu=all): cannot tell which devices the CDI specs define: "
                    "nvidia-ctk is not installed",
                    "install the NVIDIA Container Toolkit (nvidia-ctk), then " + generate});
  // Facts saved before these questions existed: neither the list nor the spec was recorded.
  CHECK(cdi_on({h100, engine_28_2}, cdi_subject(gpu_0)) ==
        CheckResult{"cdi", Status::warn,
                    "GPUs through CDI (nvidia.com/gpu=0): cannot tell which devices the CDI specs define: the facts "
                    "do not record nvidia-ctk cdi list; /etc/cdi/nvidia.yaml: not recorded",
                    generate});
}

TEST_CASE("a Docker daemon with CDI off fails the CDI check before any spec is looked at", "[doctor][cdi]") {
  auto docker_facts = [](const std::string& folder, const std::string& from, const std::string& to) {
    std::string text = read_file(testing::fixture(folder + "/docker-info.json"));
    if (!from.empty()) text.replace(text.find(from), from.size(), to);
    facts::Fact info{true, 0, text, ""};
    return doctor::parse_docker_facts(nullptr, &info);
  };
  CHECK_FALSE(docker_facts(engine_28_2, "", "").cdi_spec_dirs);
  CHECK(docker_facts(engine_28_5, "", "").cdi_spec_dirs == std::vector<std::string>{"/etc/cdi", "/var/run/cdi"});
  doctor::DockerFacts off = docker_facts(engine_28_2, "\"CDISpecDirs\":null", "\"CDISpecDirs\":[]");
  REQUIRE(off.cdi_spec_dirs);
  CHECK(off.cdi_spec_dirs->empty());

  doctor::Subject subject = cdi_subject(gpu_0);
  doctor::HostSnapshot snapshot = snapshot_of({h100, engine_28_2, "cdi/h100-spec-580"}, subject);
  snapshot.docker = off;
  CHECK(doctor::cdi_check(subject, snapshot) ==
        CheckResult{"cdi", Status::fail,
                    "GPUs through CDI (nvidia.com/gpu=0): Docker Engine 28.2.2 has CDI off (docker info's CDISpecDirs "
                    "is empty)",
                    "add \"features\": {\"cdi\": true} to /etc/docker/daemon.json and restart Docker (Engine 25 to "
                    "28.1; 28.2 and later have it on), or unset LAUNCHER_GPU_RUNTIME"});
}

TEST_CASE("doctor and up's pre-flight report the CDI check and ask for it only under cdi", "[doctor][cdi]") {
  doctor::Subject subject = cdi_subject(gpu_0);
  testing::FixtureFacts facts({h100, engine_28_2, "cdi/h100-spec-550-stale"});
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
  CHECK(std::count(facts.asked.begin(), facts.asked.end(), "nvidia-ctk-cdi-list.txt") == 1);
  CHECK(std::count(facts.asked.begin(), facts.asked.end(), "cdi-spec-etc-cdi-nvidia.yaml") == 1);
  auto failed_cdi = [](const std::vector<CheckResult>& results) {
    return std::count_if(results.begin(), results.end(),
                         [](const CheckResult& result) { return result.id == "cdi" && result.status == Status::fail; });
  };
  CHECK(failed_cdi(doctor::doctor_checks(subject, snapshot, matrix::embedded_matrix())) == 1);
  CHECK(doctor::to_json(snapshot)["cdi"]["specs"][0]["driver_version"] == "550.54.15");

  plan::Plan plan = testing::builtin_plan("jupyter", 1);
  plan.gpus = gpu_0;
  plan.gpu_runtime = host::GpuRuntime::cdi;
  testing::FixtureFacts preflight_facts({h100, engine_28_2, "cdi/h100-spec-550-stale"});
  facts::HostQueries preflight_queries(preflight_facts, launcher::testing::replay_engine());
  doctor::HostSnapshot preflight =
      doctor::gather_preflight_facts(preflight_queries, doctor::subject_of(plan), matrix::embedded_matrix());
  CHECK(failed_cdi(doctor::preflight_checks(plan, preflight, matrix::embedded_matrix())) == 1);

  testing::FixtureFacts nvidia_facts({h100, engine_28_2, "cdi/h100-spec-580"});
  facts::HostQueries nvidia_queries(nvidia_facts, launcher::testing::replay_engine());
  doctor::gather_doctor_facts(nvidia_queries, gpu_subject(cu128), matrix::embedded_matrix());
  CHECK(std::count(nvidia_facts.asked.begin(), nvidia_facts.asked.end(), "nvidia-ctk-cdi-list.txt") == 0);
}

TEST_CASE("a CDI spec is read only from the CDI directories under a name of its path", "[facts][cdi]") {
  facts::MemoryFactSource source;
  source.answers["cdi-spec-var-run-cdi-nvidia.yaml"] = {true, 0, "kind: nvidia.com/gpu\n", ""};
  facts::HostQueries queries(source, launcher::testing::replay_engine());
  CHECK(queries.cdi_spec("/var/run/cdi/nvidia.yaml").out == "kind: nvidia.com/gpu\n");
  CHECK_FALSE(queries.cdi_spec("/etc/cdi/nvidia.yaml").recorded);
  require_error([&] { queries.cdi_spec("/etc/passwd"); }, ExitCode::failed,
                "refusing the CDI spec \"/etc/passwd\": not in /etc/cdi or /var/run/cdi");
  require_error([&] { queries.cdi_spec("/etc/cdi/a b.yaml"); }, ExitCode::failed,
                "refusing the CDI spec name \"a b.yaml\": not a plain directory entry name");
}
