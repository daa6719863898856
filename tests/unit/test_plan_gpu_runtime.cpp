#include <catch2/catch.hpp>

#include <algorithm>

#include "docker/docker.hpp"
#include "export/export.hpp"
#include "host/gpu_runtime.hpp"
#include "plan/resolve.hpp"
#include "render/render.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::require_error;
using nlohmann::json;

namespace {

const std::string h100_uuid = "GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb";
const std::string cu128 = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";

std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& option) {
  std::vector<std::string> values;
  for (auto at = argv.begin(); at != argv.end(); ++at)
    if (*at == option && at + 1 != argv.end()) values.push_back(*(at + 1));
  return values;
}

} // namespace

TEST_CASE("the GPU runtime is nvidia or cdi and a wrong one names where it came from", "[gpu][cdi]") {
  CHECK(host::parse_gpu_runtime("nvidia", "LAUNCHER_GPU_RUNTIME") == host::GpuRuntime::nvidia);
  CHECK(host::parse_gpu_runtime("cdi", "LAUNCHER_GPU_RUNTIME") == host::GpuRuntime::cdi);
  CHECK(host::gpu_runtime_name(host::GpuRuntime::cdi) == "cdi");
  CHECK(host::gpu_runtime_name(host::GpuRuntime::nvidia) == "nvidia");
  require_error([] { host::parse_gpu_runtime("CDI", "LAUNCHER_GPU_RUNTIME"); }, ExitCode::usage,
                "LAUNCHER_GPU_RUNTIME: unknown GPU runtime \"CDI\"; expected \"nvidia\" or \"cdi\"");
}

TEST_CASE("GPUs get the CDI names nvidia-ctk gives them by index or UUID or GPU:MIG pair or MIG UUID or all",
          "[gpu][cdi]") {
  CHECK(host::cdi_device_name("0") == "nvidia.com/gpu=0");
  CHECK(host::cdi_device_name(h100_uuid) == "nvidia.com/gpu=" + h100_uuid);
  CHECK(host::cdi_device_name("1:0") == "nvidia.com/gpu=1:0");
  CHECK(host::cdi_device_name("MIG-c6d4f1ef-7a2b-5c3d-9e8f-0a1b2c3d4e5f") ==
        "nvidia.com/gpu=MIG-c6d4f1ef-7a2b-5c3d-9e8f-0a1b2c3d4e5f");
  CHECK(host::cdi_device_name("all") == "nvidia.com/gpu=all");
  // The legacy MIG form has '/' in it, which a CDI name cannot hold.
  CHECK_FALSE(host::cdi_device_name("MIG-GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb/1/0"));
  CHECK_FALSE(host::cdi_device_name(""));
  CHECK_FALSE(host::cdi_device_name("-0"));
  CHECK_FALSE(host::cdi_device_name("0 "));

  CHECK(host::device_of_cdi_name("nvidia.com/gpu=1:0") == "1:0");
  CHECK(host::device_of_cdi_name("nvidia.com/gpu=all") == "all");
  CHECK_FALSE(host::device_of_cdi_name("nvidia.com/gpu="));
  CHECK_FALSE(host::device_of_cdi_name("vendor1.com/device=foo"));
}

TEST_CASE("under cdi the GPUs render as --device nvidia.com/gpu=... and never --gpus", "[render][cdi]") {
  plan::Plan plan = testing::builtin_plan("shell", 0);
  plan.gpus = {plan::GpuAssignment::Kind::devices, {"0", "1:0", h100_uuid}};
  std::string label = render::gpus_label(plan.gpus);
  plan.gpu_runtime = host::GpuRuntime::cdi;
  auto argv = testing::docker_container_command(plan, "/tmp/run.env").argv();
  CHECK(values_of(argv, "--device") ==
        std::vector<std::string>{"nvidia.com/gpu=0", "nvidia.com/gpu=1:0", "nvidia.com/gpu=" + h100_uuid});
  CHECK(values_of(argv, "--gpus").empty());
  auto environment = values_of(argv, "--env");
  CHECK(std::count(environment.begin(), environment.end(), "NVIDIA_VISIBLE_DEVICES=void") == 1);
  // The GPU table and `ps` read the label, which says the same under either runtime.
  CHECK(std::count(argv.begin(), argv.end(), "io.launcher.gpus=" + label) == 1);

  plan.gpus = {plan::GpuAssignment::Kind::all, {}};
  argv = testing::docker_container_command(plan, "/tmp/run.env").argv();
  CHECK(values_of(argv, "--device") == std::vector<std::string>{"nvidia.com/gpu=all"});

  plan.gpus = {plan::GpuAssignment::Kind::devices, {"MIG-GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb/1/0"}};
  require_error([&] { render::cdi_devices(plan.gpus); }, ExitCode::usage,
                "GPU \"MIG-GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb/1/0\" has no CDI device name");
}

TEST_CASE("the plan and its hash name the GPU runtime only when it is cdi", "[plan][cdi]") {
  plan::Plan plan = testing::builtin_plan("jupyter", 1);
  CHECK_FALSE(plan::to_json(plan).contains("gpu_runtime"));
  std::string hash = plan::plan_hash(plan);
  plan.gpu_runtime = host::GpuRuntime::cdi;
  CHECK(plan::to_json(plan)["gpu_runtime"] == "cdi");
  CHECK(plan::plan_hash(plan) != hash);
}

TEST_CASE("resolving under cdi takes the host's setting and refuses a device without a CDI name", "[plan][cdi]") {
  auto resolve = [](const json& gpus, host::GpuRuntime runtime) {
    profile::Catalog catalog{{testing::dev_profile({{"image", cu128}, {"service", "shell"}, {"gpus", gpus}})}};
    host::HostFacts host = testing::test_host(2);
    host.gpu_runtime = {runtime, host::gpu_runtime_variable};
    testing::FakeGpus gpus_of_host(2);
    return plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), host, testing::FakePaths{}.probe(),
                              gpus_of_host);
  };
  plan::Resolution named = resolve("device=0,1", host::GpuRuntime::cdi);
  CHECK(named.plan.gpu_runtime == host::GpuRuntime::cdi);
  CHECK(named.profile.origins.at("/gpu_runtime").describe() == "LAUNCHER_GPU_RUNTIME");
  CHECK(resolve("all", host::GpuRuntime::cdi).plan.gpu_runtime == host::GpuRuntime::cdi);
  CHECK(resolve("device=0", host::GpuRuntime::nvidia).plan.gpu_runtime == host::GpuRuntime::nvidia);
  // Without GPUs the runtime does not matter, and the plan (and its hash) stays as it was.
  plan::Resolution none = resolve("none", host::GpuRuntime::cdi);
  CHECK(none.plan.gpu_runtime == host::GpuRuntime::nvidia);
  CHECK_FALSE(none.profile.origins.contains("/gpu_runtime"));
  require_error([&] { resolve("device=MIG-GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb/1/0", host::GpuRuntime::cdi); },
                ExitCode::usage,
                "launcher.json:/profiles/dev/gpus: GPU \"MIG-GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb/1/0\" has no "
                "CDI device name (GPU runtime \"cdi\" from LAUNCHER_GPU_RUNTIME): name a MIG device by its UUID "
                "(\"MIG-...\") or as GPU:MIG (\"0:1\")");
}

TEST_CASE("export: compose cannot say CDI devices while a devcontainer passes them in runArgs", "[export][cdi]") {
  plan::Plan plan = testing::builtin_plan("jupyter", 1);
  plan.gpu_runtime = host::GpuRuntime::cdi;
  CHECK(exporting::compose_document(plan).dropped == std::vector<std::string>{"/gpu_runtime"});
  exporting::Document devcontainer = exporting::devcontainer_document(plan);
  CHECK(devcontainer.dropped.empty());
  auto run_args = devcontainer.content["runArgs"].get<std::vector<std::string>>();
  CHECK(values_of(run_args, "--device") == std::vector<std::string>{"nvidia.com/gpu=all"});
}

TEST_CASE("a container's CDI devices are read back from its Driver cdi request", "[docker][cdi]") {
  auto read = [](const char* host_config) {
    json parsed = json::parse(host_config);
    return docker::gpu_device_request(JsonReader(parsed, "docker container inspect"));
  };
  // What `docker create --device nvidia.com/gpu=0 --device nvidia.com/gpu=1:0` leaves (Docker 25 and later).
  auto named = read(R"({"DeviceRequests": [{"Driver": "cdi", "Count": 0,
                        "DeviceIDs": ["nvidia.com/gpu=0", "nvidia.com/gpu=1:0"], "Capabilities": null}]})");
  REQUIRE(named);
  CHECK(named->runtime == host::GpuRuntime::cdi);
  CHECK(named->device_ids == std::vector<std::string>{"0", "1:0"});
  auto all = read(R"({"DeviceRequests": [{"Driver": "cdi", "DeviceIDs": ["nvidia.com/gpu=all"]}]})");
  REQUIRE(all);
  CHECK(all->all());
  // Another vendor's CDI device holds no GPU; a --gpus request next to it still reads as before.
  CHECK_FALSE(read(R"({"DeviceRequests": [{"Driver": "cdi", "DeviceIDs": ["vendor1.com/device=foo"]}]})"));
  auto both = read(R"({"DeviceRequests": [{"Driver": "cdi", "DeviceIDs": ["vendor1.com/device=foo"]},
                                          {"Driver": "", "Count": -1}]})");
  REQUIRE(both);
  CHECK(both->runtime == host::GpuRuntime::nvidia);
  CHECK(both->all());
}
