#include <catch2/catch.hpp>

#include "doctor/checks.hpp"
#include "doctor_fixtures.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::doctor::CheckResult;
using launcher::doctor::Status;
using launcher::testing::gpu_subject;
using launcher::testing::snapshot_of;

namespace {

const std::string toolkit = "docker/engine-28.2-nvidia-toolkit";
const std::string cu118 = "pytorch-cuda:2.7.1-cu118-cudnn9-ubuntu22.04";
const std::string cu126 = "pytorch-cuda:2.7.1-cu126-cudnn9-ubuntu24.04";
const std::string cu128 = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";
const std::string no_kernel =
    "PyTorch would fail with \"CUDA error: no kernel image is available for execution on the device\"";

std::vector<CheckResult> doctor_on(const std::vector<std::string>& folders, const doctor::Subject& subject) {
  return doctor::doctor_checks(subject, snapshot_of(folders, subject), matrix::embedded_matrix());
}

// The results with this id, in order.
std::vector<CheckResult> with_id(const std::vector<CheckResult>& results, const std::string& id) {
  std::vector<CheckResult> found;
  for (const auto& result : results)
    if (result.id == id) found.push_back(result);
  return found;
}

CheckResult only(const std::vector<CheckResult>& results, const std::string& id) {
  auto found = with_id(results, id);
  REQUIRE(found.size() == 1);
  return found[0];
}

} // namespace

TEST_CASE("the recorded H100 host runs the cu128 image: every check passes", "[doctor]") {
  CHECK(doctor_on({"gpu/h100-80gb-hbm3", toolkit}, gpu_subject(cu128)) ==
        std::vector<CheckResult>{
            {"docker", Status::ok, "Docker Engine 28.2.2 answers (client 28.2.2)", ""},
            {"loopback-publish", Status::ok, "Docker Engine 28.2.2 keeps ports published on 127.0.0.1 local", ""},
            {"driver", Status::ok, "NVIDIA driver 580.159.04, 1 GPU", ""},
            {"toolkit", Status::ok,
             "NVIDIA Container Toolkit: nvidia runtime registered with Docker, CDI spec /etc/cdi/nvidia.yaml, "
             "cli-version: 1.17.8",
             ""},
            {"image", Status::ok,
             cu128 +
                 ": not pulled yet; torch 2.7.1, CUDA 12.8, cuDNN 9.7.1.26, NCCL 2.26.2 per the matrix row of its tag",
             ""},
            {"gpus", Status::ok, "GPU 0 NVIDIA H100 80GB HBM3 (81559 MiB)", ""},
            {"driver-cuda", Status::ok, "driver 580.159.04 runs CUDA 12.8 (needs 570.26 or newer)", ""},
            {"gpu-arch", Status::ok, "GPU 0 NVIDIA H100 80GB HBM3 (sm_90): the image has sm_90 kernels", ""},
            {"gpu-memory", Status::ok, "no other process uses the selected GPUs", ""},
            {"numa", Status::ok, "CPU sets follow the GPUs: GPU 0: node 0, CPUs 0-15", ""},
            {"shm", Status::ok, "/dev/shm is 32g", ""},
        });
}

TEST_CASE("an RTX 5090 with a cu126 or cu118 image fails with the kernel error predicted", "[doctor][arch]") {
  auto cu126_results = doctor_on({"gpu/rtx5090-driver-575", toolkit}, gpu_subject(cu126));
  CHECK(only(cu126_results, "driver-cuda") ==
        CheckResult{"driver-cuda", Status::ok, "driver 575.57.08 runs CUDA 12.6 (needs 560.35.05 or newer)", ""});
  CHECK(only(cu126_results, "gpu-arch") ==
        CheckResult{
            "gpu-arch", Status::fail,
            "GPU 0 NVIDIA GeForce RTX 5090 (sm_120): " + cu126 +
                " has no kernels for it (compiled for sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90, no PTX): " + no_kernel,
            "use " + cu128 + " (it has sm_120 kernels)"});
  CHECK(only(doctor_on({"gpu/rtx5090-driver-575", toolkit}, gpu_subject(cu118)), "gpu-arch") ==
        CheckResult{"gpu-arch", Status::fail,
                    "GPU 0 NVIDIA GeForce RTX 5090 (sm_120): " + cu118 +
                        " has no kernels for it (compiled for sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90, no PTX): " +
                        no_kernel + " (the matrix marks this row's architectures unverified)",
                    "use " + cu128 + " (it has sm_120 kernels)"});
  CHECK(
      only(doctor_on({"gpu/rtx5090-driver-575", toolkit}, gpu_subject(cu128)), "gpu-arch") ==
      CheckResult{"gpu-arch", Status::ok, "GPU 0 NVIDIA GeForce RTX 5090 (sm_120): the image has sm_120 kernels", ""});
  CHECK(only(doctor_on({"gpu/rtx5090-driver-575", toolkit}, gpu_subject(cu126 + "-runtime")), "gpu-arch").fix ==
        "use " + cu128 + "-runtime (it has sm_120 kernels)");
}

TEST_CASE("a 12.x driver older than the image's CUDA runs in minor-version compatibility", "[doctor][driver]") {
  auto results = doctor_on({"gpu/4x-a100-sxm4-80gb-driver-550", toolkit}, gpu_subject(cu128));
  CHECK(only(results, "driver-cuda") ==
        CheckResult{
            "driver-cuda", Status::warn,
            "driver 550.54.15 is older than CUDA 12.8 needs (570.26): minor-version compatibility (any CUDA 12.x on a "
            "driver >= 525.60.13) runs the image's compiled kernels, but PTX JIT and CUDA APIs newer than the driver "
            "fail",
            "update the driver to 570.26 or newer, or use " + cu118 + " (needs 520.61.05)"});
  CHECK(only(results, "gpus").message ==
        "GPU 0 NVIDIA A100-SXM4-80GB (81920 MiB), GPU 1 NVIDIA A100-SXM4-80GB (81920 MiB), GPU 2 NVIDIA A100-SXM4-80GB "
        "(81920 MiB), GPU 3 NVIDIA A100-SXM4-80GB (81920 MiB)");
  CHECK(with_id(results, "gpu-arch").size() == 4);
  CHECK(only(results, "gpu-memory") ==
        CheckResult{
            "gpu-memory", Status::warn,
            "GPU 0 NVIDIA A100-SXM4-80GB: 40960 of 81920 MiB used by PID 4242 (40448 MiB); GPU 2 NVIDIA "
            "A100-SXM4-80GB: 1024 of 81920 MiB used by PID 5151 (512 MiB)",
            "let the launcher pick free GPUs with \"gpus\": {\"count\": N}, or ask the owners of those processes"});
  auto two_free = doctor_on({"gpu/4x-a100-sxm4-80gb-driver-550", toolkit},
                            gpu_subject(cu128, {plan::GpuAssignment::Kind::devices, {"1", "3"}}));
  CHECK(only(two_free, "gpu-memory").status == Status::ok);
}

TEST_CASE("a driver below the CUDA major's floor fails, naming forward compatibility on data-center GPUs",
          "[doctor][driver]") {
  auto cu126_results = doctor_on({"gpu/v100-sxm2-16gb-driver-470", toolkit}, gpu_subject(cu126));
  CHECK(only(cu126_results, "driver-cuda") ==
        CheckResult{
            "driver-cuda", Status::fail,
            "driver 470.199.02 cannot run CUDA 12.6: it needs 560.35.05 or newer (or 525.60.13 for CUDA 12.x "
            "minor-version compatibility)",
            "update the driver to 560.35.05 or newer; or, on these data-center GPUs, NVIDIA's forward-compatibility "
            "package cuda-compat-12-6 supports driver branch 470 (never GeForce)"});
  CHECK(only(cu126_results, "gpu-arch").status == Status::ok);

  auto cu128_results = doctor_on({"gpu/v100-sxm2-16gb-driver-470", toolkit}, gpu_subject(cu128));
  CHECK(
      only(cu128_results, "gpu-arch") ==
      CheckResult{"gpu-arch", Status::fail,
                  "GPU 0 Tesla V100-SXM2-16GB (sm_70): " + cu128 +
                      " has no kernels for it (compiled for sm_75 sm_80 sm_86 sm_90 sm_100 sm_120, PTX compute_120): " +
                      no_kernel,
                  "use " + cu126 + " (it has sm_70 kernels)"});

  CHECK(only(doctor_on({"gpu/v100-sxm2-16gb-driver-470", toolkit}, gpu_subject(cu118)), "driver-cuda") ==
        CheckResult{
            "driver-cuda", Status::warn,
            "driver 470.199.02 is older than CUDA 11.8 needs (520.61.05): minor-version compatibility (any CUDA "
            "11.x on a driver >= 450.80.02) runs the image's compiled kernels, but PTX JIT and CUDA APIs newer than "
            "the driver fail",
            "update the driver to 520.61.05 or newer"});
}

TEST_CASE("a GeForce below the floor gets no forward-compatibility advice", "[doctor][driver]") {
  doctor::Subject subject = gpu_subject("pytorch-cuda:2.10.0-cu130-cudnn9-ubuntu24.04");
  CHECK(only(doctor_on({"gpu/rtx5090-driver-575", toolkit}, subject), "driver-cuda") ==
        CheckResult{"driver-cuda", Status::fail, "driver 575.57.08 cannot run CUDA 13.0: it needs 580.65.06 or newer",
                    "update the driver to 580.65.06 or newer, or use pytorch-cuda:2.10.0-cu128-cudnn9-ubuntu24.04 "
                    "(needs 570.124.06)"});
}

TEST_CASE("explicit GPUs and MIG devices are checked against the host", "[doctor][gpus]") {
  auto mig =
      doctor_on({"gpu/2x-a100-sxm4-40gb-mig", toolkit},
                gpu_subject(cu128, {plan::GpuAssignment::Kind::devices, {"MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"}}));
  CHECK(only(mig, "gpus") == CheckResult{"gpus", Status::ok, "GPU 0 NVIDIA A100-SXM4-40GB (40960 MiB)", ""});
  auto missing =
      doctor_on({"gpu/h100-80gb-hbm3", toolkit}, gpu_subject(cu128, {plan::GpuAssignment::Kind::devices, {"3"}}));
  CHECK(
      only(missing, "gpus") ==
      CheckResult{
          "gpus", Status::fail,
          "GPU 3 is not on this host, which has GPU 0 NVIDIA H100 80GB HBM3 (GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb)",
          "name GPUs this host has, or use \"gpus\": {\"count\": N}"});
  CHECK(with_id(missing, "gpu-arch").empty());
}

TEST_CASE("this machine: no driver and no toolkit fail for a GPU profile", "[doctor]") {
  CHECK(
      doctor_on({"gpu/no-driver", "docker/engine-20.10-no-toolkit"}, gpu_subject("pytorch-cpu:2.7.1-debian12")) ==
      std::vector<CheckResult>{
          {"docker", Status::ok, "Docker Engine 20.10.24+dfsg1 answers (client 28.2.2)", ""},
          {"loopback-publish", Status::warn,
           "Docker Engine 20.10.24+dfsg1 is older than 28.0: other machines on the same network segment can reach "
           "ports "
           "published on 127.0.0.1, and containers' bridge addresses directly",
           "upgrade Docker Engine to 28.0 or later; until then keep untrusted machines off this host's network "
           "segment, or "
           "drop new connections routed into the bridges from outside: iptables -I DOCKER-USER -o br-+ ! -i br-+ -m "
           "conntrack --ctstate NEW -j DROP (the same for docker0)"},
          {"driver", Status::fail,
           "no NVIDIA driver: /proc/driver/nvidia/version is missing and nvidia-smi is not installed",
           "install the NVIDIA driver, or run without GPUs (--gpus none)"},
          {"toolkit", Status::fail,
           "no NVIDIA Container Toolkit (no nvidia runtime in docker info, no CDI spec in /etc/cdi or /var/run/cdi, no "
           "nvidia-container-cli): docker run --gpus would fail with 'could not select device driver \"\" with "
           "capabilities: [[gpu]]'",
           "install nvidia-container-toolkit, run 'sudo nvidia-ctk runtime configure --runtime=docker' and restart "
           "Docker"},
          {"image", Status::warn,
           "pytorch-cpu:2.7.1-debian12 is a CPU image (torch 2.7.1 for CPU): PyTorch in it will not use the requested "
           "GPUs",
           "use a CUDA image, e.g. " + cu128},
          {"shm", Status::ok, "/dev/shm is 32g", ""},
      });
  doctor::Subject cpu = gpu_subject("pytorch-cpu:2.7.1-debian12", {});
  CHECK(only(doctor_on({"gpu/no-driver", "docker/engine-20.10-no-toolkit"}, cpu), "driver") ==
        CheckResult{"driver", Status::ok, "no NVIDIA driver (none needed: no GPU requested)", ""});
  CHECK_FALSE(doctor::any_failed(doctor_on({"gpu/no-driver", "docker/engine-20.10-no-toolkit"}, cpu)));
}

TEST_CASE("Docker down, forbidden or missing: each has its own message", "[doctor][docker]") {
  doctor::DockerFacts unrecorded = doctor::parse_docker_facts(nullptr, nullptr);
  CHECK(doctor::docker_check(unrecorded) ==
        CheckResult{"docker", Status::warn, "the facts do not record Docker",
                    "record them on the host with 'launcher doctor --save-facts DIR'"});

  auto results = doctor_on({"docker/daemon-down"}, gpu_subject(cu128, {}));
  CHECK(only(results, "docker") ==
        CheckResult{"docker", Status::fail,
                    "the Docker daemon is not running: Cannot connect to the Docker daemon at "
                    "unix:///var/run/docker-stopped.sock. Is the docker daemon running?",
                    "start it: sudo systemctl start docker"});
  CHECK(with_id(results, "loopback-publish").empty());
  CHECK(only(doctor_on({"docker/permission-denied"}, gpu_subject(cu128, {})), "docker") ==
        CheckResult{
            "docker", Status::fail,
            "no permission to use the Docker daemon: permission denied while trying to connect to the Docker daemon "
            "socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.50/info\": dial unix "
            "/var/run/docker.sock: connect: permission denied",
            "add yourself to the docker group (sudo usermod -aG docker $USER) and log in again"});
  facts::Fact missing{true, 127, "", "failed to run docker: not found on PATH"};
  CHECK(doctor::docker_check(doctor::parse_docker_facts(&missing, nullptr)) ==
        CheckResult{"docker", Status::fail, "no Docker CLI: failed to run docker: not found on PATH",
                    "install Docker Engine, or name the CLI with --docker or $LAUNCHER_DOCKER"});
  facts::Fact odd{true, 1, "",
                  "error during connect: this error may indicate that the docker daemon is not running\nmore"};
  CHECK(doctor::docker_check(doctor::parse_docker_facts(&odd, nullptr)) ==
        CheckResult{"docker", Status::fail,
                    "docker fails: error during connect: this error may indicate that the docker daemon is not running "
                    "| more",
                    "run 'docker info' to see why"});
  // Never "docker fails: " with nothing after it.
  facts::Fact silent{true, 1, "", ""};
  CHECK(doctor::docker_check(doctor::parse_docker_facts(&silent, nullptr)).message ==
        "docker fails: (no message from docker, exit 1)");
}

TEST_CASE("the toolkit check says when the facts do not record it", "[doctor][toolkit]") {
  CHECK(doctor::toolkit_check({}) == CheckResult{"toolkit", Status::warn,
                                                 "the facts do not record the NVIDIA Container Toolkit",
                                                 "record them on the host with 'launcher doctor --save-facts DIR'"});
}

TEST_CASE("image facts come from labels, else the matrix row of the tag, else are unknown", "[doctor][image]") {
  auto labelled =
      doctor_on({"docker/image-cu126-labels", "gpu/h100-80gb-hbm3", toolkit}, gpu_subject("team/trainer:latest"));
  CHECK(only(labelled, "image") ==
        CheckResult{"image", Status::ok,
                    "team/trainer:latest: torch 2.7.1, CUDA 12.6, cuDNN 9.5.1, NCCL 2.26.2 (from its labels)", ""});
  CHECK(only(labelled, "driver-cuda").message == "driver 580.159.04 runs CUDA 12.6 (needs 560.35.05 or newer)");

  auto unlabelled = doctor_on({"docker/image-without-labels", "gpu/h100-80gb-hbm3", toolkit}, gpu_subject(cu118));
  CHECK(only(unlabelled, "image") ==
        CheckResult{
            "image", Status::warn,
            cu118 + " has no io.launcher.* labels; assuming the matrix row of its tag: torch 2.7.1, CUDA 11.8, cuDNN "
                    "9.1.0.70, NCCL 2.21.5; unverified: nccl, cuda_archs, ptx",
            "rebuild it from images/ so that its labels record what it contains"});

  auto foreign = doctor_on({"docker/image-without-labels", "gpu/h100-80gb-hbm3", toolkit},
                           gpu_subject("nvcr.io/nvidia/pytorch:25.01-py3"));
  CHECK(only(foreign, "image") ==
        CheckResult{
            "image", Status::warn,
            "cannot tell which PyTorch and CUDA nvcr.io/nvidia/pytorch:25.01-py3 has: no io.launcher.* labels, and its "
            "tag is not one images/matrix.json derives",
            "use an image whose tag the matrix derives, or label it (io.launcher.torch, io.launcher.cuda, "
            "io.launcher.cuda-archs, io.launcher.min-driver)"});
  CHECK(with_id(foreign, "driver-cuda").empty());
  CHECK(
      only(doctor_on({"gpu/h100-80gb-hbm3", toolkit}, gpu_subject("nvcr.io/nvidia/pytorch:25.01-py3")), "image")
          .message ==
      "nvcr.io/nvidia/pytorch:25.01-py3 is not present locally and its tag is not one images/matrix.json derives: its "
      "PyTorch and CUDA are unknown");
}

TEST_CASE("a small /dev/shm warns about DataLoader bus errors", "[doctor][shm]") {
  doctor::Subject subject;
  subject.shm_size_bytes = 64ULL << 20;
  CHECK(doctor::shm_check(subject) ==
        CheckResult{"shm", Status::warn,
                    "/dev/shm is 64m: PyTorch DataLoader workers die with \"Bus error\" when it fills",
                    "set \"shm_size\": \"8g\" (or more) in the profile, or \"ipc\": \"host\""});
  subject.ipc = plan::Ipc::host;
  CHECK(doctor::shm_check(subject) == CheckResult{"shm", Status::ok, "/dev/shm is the host's (ipc: host)", ""});
}

TEST_CASE("doctor ENV finds a container that lost its GPUs", "[doctor][container]") {
  auto examine = [](const std::string& folder, const std::string& name) {
    testing::FixtureFacts facts({folder, "gpu/h100-80gb-hbm3", toolkit});
    facts::HostQueries queries(facts, launcher::testing::replay_engine());
    auto [subject, snapshot] = doctor::gather_container_facts(queries, name, matrix::embedded_matrix());
    return std::make_pair(subject, doctor::doctor_checks(subject, snapshot, matrix::embedded_matrix()));
  };
  auto [subject, lost] = examine("docker/container-lost-gpus", "train");
  CHECK(subject.image == "launcher-base:bookworm");
  CHECK(subject.gpus.devices == std::vector<std::string>{"0"});
  CHECK(subject.shm_size_bytes == 8ULL << 30);
  CHECK(subject.publishes_on_loopback);
  CHECK(only(lost, "container") ==
        CheckResult{
            "container", Status::fail,
            "container train lost its GPUs: nvidia-smi inside answers \"Failed to initialize NVML: Unknown Error\" "
            "(the host's systemctl daemon-reload or a driver update revoked its device access)",
            "recreate it: launcher up --recreate --name train (files in its volumes are kept)"});
  CHECK(only(examine("docker/container-healthy", "train").second, "container") ==
        CheckResult{"container", Status::ok, "container train sees 1 GPU", ""});
  auto ghost = examine("docker/image-without-labels", "ghost").second;
  CHECK(only(ghost, "container") ==
        CheckResult{"container", Status::fail, "no container named ghost", "start it: launcher up --name ghost"});
  CHECK(with_id(ghost, "driver").empty());
}

TEST_CASE("up prints every WARN with its fix, and nothing for OK or FAIL rows", "[doctor]") {
  std::vector<CheckResult> results{{"docker", Status::ok, "answers", ""},
                                   {"loopback-publish", Status::warn, "old engine", "upgrade"},
                                   {"shm", Status::warn, "small", ""},
                                   {"driver", Status::fail, "none", "install it"}};
  CHECK(doctor::warnings_text(results) == "launcher: warning: loopback-publish: old engine\n  fix: upgrade\n"
                                          "launcher: warning: shm: small\n");
  CHECK(doctor::warnings_text({}).empty());
}

TEST_CASE("doctor says where each GPU sits, or why envs get no CPU set", "[doctor][numa]") {
  CheckResult two_sockets = only(doctor_on({"gpu/8x-h100-two-socket", toolkit}, gpu_subject(cu128)), "numa");
  CHECK(two_sockets.status == Status::ok);
  CHECK(
      two_sockets.message ==
      "CPU sets follow the GPUs: GPU 0: node 0, CPUs 0-47,96-143; GPU 1: node 0, CPUs 0-47,96-143; GPU 2: node 0, CPUs "
      "0-47,96-143; GPU 3: node 0, CPUs 0-47,96-143; GPU 4: node 1, CPUs 48-95,144-191; GPU 5: node 1, CPUs "
      "48-95,144-191; GPU 6: node 1, CPUs 48-95,144-191; GPU 7: node 1, CPUs 48-95,144-191");
  CheckResult unrecorded = only(doctor_on({"gpu/4x-a100-sxm4-80gb-driver-550", toolkit}, gpu_subject(cu128)), "numa");
  CHECK(unrecorded.status == Status::warn);
  CHECK(unrecorded.message == "envs get no CPU set next to their GPUs: `nvidia-smi topo -m` was not recorded");
  CHECK(unrecorded.fix == "set resources.cpuset_cpus and resources.cpuset_mems in the profile to pin CPUs by hand");
  // No GPU, no question asked.
  CHECK(with_id(doctor_on({"gpu/no-driver", toolkit}, gpu_subject(cu128)), "numa").empty());
}
