#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// These tests describe a machine without NVIDIA GPUs, like CI's.
void require_no_nvidia_driver() {
  if (fs::exists("/proc/driver/nvidia/version")) {
    std::cerr << "SKIPPED: this machine has an NVIDIA driver\n";
    std::exit(77);
  }
}

fs::path fixture(const std::string& relative) { return fixtures_dir() / relative; }

} // namespace

TEST_CASE("doctor for a GPU profile reports no driver and no toolkit, and exits 3", "[e2e][doctor][docker]") {
  require_engine();
  require_no_nvidia_driver();
  TempDir dir;
  auto result = run_launcher(dir, {"doctor", "--gpus", "all"});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 3);
  CHECK(result.out.find("\ndriver            FAIL   no NVIDIA driver: /proc/driver/nvidia/version is missing and "
                        "nvidia-smi is not installed\n") != std::string::npos);
  CHECK(result.out.find("\ntoolkit           FAIL   no NVIDIA Container Toolkit (no nvidia runtime in docker info") !=
        std::string::npos);
  CHECK(result.err == "launcher: error: 2 checks failed\n");
}

TEST_CASE("doctor with gpus none passes on this machine", "[e2e][doctor][docker]") {
  require_engine();
  TempDir dir;
  auto result = run_launcher(dir, {"doctor", "--gpus", "none", "--json"});
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  json report = json::parse(result.out);
  CHECK(report["summary"]["fail"] == 0);
  CHECK(report["checks"][0]["id"] == "docker");
  CHECK(report["checks"][0]["status"] == "OK");
}

TEST_CASE("doctor --save-facts records what it read, and --facts replays it", "[e2e][doctor][docker]") {
  require_engine();
  TempDir dir;
  auto live = run_launcher(dir, {"doctor", "--gpus", "none", "--json", "--save-facts", (dir.path / "facts").string()});
  REQUIRE(live.exit_code == 0);
  CHECK(fs::exists(dir.path / "facts/docker-info.json"));
  CHECK(fs::exists(dir.path / "facts/docker-version.json"));
  // The profile's image is inspected whether or not this host has it (the default image is there
  // after make up, not on a bare engine): its labels are recorded, or the refusal's exit code.
  CHECK((fs::exists(dir.path / "facts/docker-image-labels.json") ||
         fs::exists(dir.path / "facts/docker-image-labels.json.exit-code")));
  auto replayed = run_launcher(dir, {"doctor", "--gpus", "none", "--json", "--facts", (dir.path / "facts").string()});
  REQUIRE(replayed.exit_code == 0);
  CHECK(json::parse(replayed.out) == json::parse(live.out));
}

TEST_CASE("doctor --facts evaluates the recorded H100 host: its GPU facts are what nvidia-smi printed",
          "[e2e][doctor]") {
  TempDir dir;
  fs::create_directories(dir.path / "facts");
  for (const char* folder : {"gpu/h100-80gb-hbm3", "docker/engine-28.2-nvidia-toolkit"})
    for (const auto& entry : fs::directory_iterator(fixture(folder)))
      fs::copy_file(entry.path(), dir.path / "facts" / entry.path().filename(), fs::copy_options::overwrite_existing);
  auto result = run_launcher(dir, {"doctor", "--facts", (dir.path / "facts").string(), "--json", "--image",
                                   "pytorch-cuda:2.7.1-cu126-cudnn9-ubuntu24.04"});
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  json gpu = json::parse(result.out)["facts"]["gpu"]["gpus"][0];
  // nvidia-smi-query-gpu.csv: 0, GPU-45fe..., NVIDIA H100 80GB HBM3, 00000000:00:06.0, 580.159.04, 81559, 0, 81079,
  // 0, 9.0, ...
  CHECK(gpu["uuid"] == "GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb");
  CHECK(gpu["name"] == "NVIDIA H100 80GB HBM3");
  CHECK(gpu["memory_total_mib"] == 81559);
  CHECK(gpu["compute_capability"] == "9.0");
}

TEST_CASE("doctor ENV for a container that does not exist exits 3", "[e2e][doctor][docker]") {
  require_engine();
  TempDir dir;
  std::string name = unique_name("doctor-ghost");
  auto result = run_launcher(dir, {"doctor", name});
  CHECK(result.exit_code == 3);
  CHECK(result.out.find("container         FAIL   no container named " + name + "\n") != std::string::npos);
  CHECK(result.err == "launcher: error: 1 check failed\n");
}

TEST_CASE("doctor --gpu ENV runs the image's gpu-check inside it and shows its table: no GPU here, exit 3",
          "[e2e][doctor][docker]") {
  require_engine();
  require_lifecycle_image();
  require_no_nvidia_driver();
  TempDir dir;
  auto usage = run_launcher(dir, {"doctor", "--gpu"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err == "launcher: error: --gpu runs the GPU tools inside an environment: launcher doctor --gpu ENV "
                     "(`launcher ps` lists them)\n");

  std::string name = unique_name("doctor-gpu");
  ContainerGuard guard{name};
  auto started =
      run_launcher(dir, {"up", "--profile", "shell", "--image", lifecycle_image(), "--gpus", "none", "--name", name});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  auto result = run_launcher(dir, {"doctor", "--gpu", name});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 3);
  // gpu-check was built in the image against the image's own LibTorch (Debian's 1.13, CPU).
  CHECK(result.out.find(
            "\ngpu-check 0.1.0\n  LibTorch: 1.13.0\n  LibTorch built with CUDA: no\n  CUDA available: no\n") !=
        std::string::npos);
  CHECK(result.out.find("gpu-check: no GPU: this LibTorch was built without CUDA (CPU only)\n") != std::string::npos);
  CHECK(result.out.find("\ngpu-probe: gpu-probe is not in this image (built only where the image has nvcc: the "
                        "devel variant, `launcher build --variant devel`; CPU images have no CUDA to probe)\n") !=
        std::string::npos);
  CHECK(result.err ==
        "launcher: error: no GPU visible in " + name + ": this LibTorch was built without CUDA (CPU only)\n");

  auto as_json = run_launcher(dir, {"doctor", "--gpu", "--json", name});
  CHECK(as_json.exit_code == 3);
  json report = json::parse(as_json.out);
  CHECK(report["gpu_tools"]["gpu-check"]["gpu_visible"] == false);
  CHECK(report["gpu_tools"]["gpu-check"]["exit_code"] == 3);
  CHECK(report["gpu_tools"]["gpu-probe"]["missing"].get<std::string>().rfind("gpu-probe is not in this image", 0) == 0);
}

TEST_CASE("doctor on a host without InfiniBand says so, as information, and starts no container",
          "[e2e][doctor][docker][infiniband]") {
  require_engine();
  if (fs::exists("/sys/class/infiniband")) {
    std::cerr << "SKIPPED: this machine has RDMA devices\n";
    std::exit(77);
  }
  TempDir dir;
  auto result =
      run_launcher(dir, {"doctor", "--gpus", "none", "--json", "--save-facts", (dir.path / "facts").string()});
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  json report = json::parse(result.out);
  json infiniband;
  for (const auto& check : report["checks"])
    if (check["id"] == "infiniband") infiniband = check;
  CHECK(infiniband == json{{"id", "infiniband"},
                           {"status", "OK"},
                           {"message", "no InfiniBand devices: jobs across nodes talk over TCP sockets"},
                           {"fix", ""}});
  CHECK(report["facts"]["infiniband"]["ports"].empty());
  CHECK(fs::exists(dir.path / "facts/sys-class-infiniband.txt"));
  CHECK(fs::file_size(dir.path / "facts/sys-class-infiniband.txt") == 0);
  // The image is asked for its package record only on a host with RDMA devices.
  CHECK(!fs::exists(dir.path / "facts/docker-image-packages.json"));
}
