#include "doctor/checks.hpp"

#include <algorithm>

#include "core/bytes.hpp"
#include "core/cpu_list.hpp"
#include "core/error.hpp"
#include "gpu/cdi.hpp"
#include "gpu/selection.hpp"
#include "matrix/version.hpp"
#include "render/render.hpp"

namespace launcher::doctor {

using gpu::Gpu;

namespace {

// Below this, DataLoader workers passing batches through /dev/shm die with "Bus error".
constexpr std::uint64_t min_shm_bytes = 1ULL << 30;

// Docker 28.0 stopped routing packets from the local segment to ports published on 127.0.0.1.
constexpr const char* loopback_fixed_in = "28.0";

std::string gpu_label(const Gpu& gpu) { return "GPU " + std::to_string(gpu.index) + " " + gpu.name; }

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const auto& item : items)
    text += (text.empty() ? "" : separator) + item;
  return text;
}

CheckResult ok(std::string id, std::string message) { return {std::move(id), Status::ok, std::move(message), ""}; }

std::string describe_versions(const matrix::Row& spec) {
  if (spec.is_cpu()) return "torch " + spec.torch + " for CPU";
  std::string text = "torch " + spec.torch + ", CUDA " + spec.cuda;
  if (!spec.cudnn.empty()) text += ", cuDNN " + spec.cudnn;
  if (!spec.nccl.empty()) text += ", NCCL " + spec.nccl;
  return text;
}

int arch_number(const std::string& arch) { return std::stoi(arch.substr(arch.find('_') + 1)); }

struct ArchFit {
  enum class Kind { cubin, ptx, none };
  Kind kind = Kind::none;
  std::string arch;
};

// A cubin runs on the same major and an equal or newer minor; PTX JIT-compiles for any newer GPU.
ArchFit arch_fit(const matrix::Row& spec, const gpu::ComputeCapability& capability) {
  ArchFit fit;
  int best = -1;
  for (const auto& arch : spec.cuda_archs) {
    int number = arch_number(arch);
    if (number / 10 == capability.major && number % 10 <= capability.minor && number > best)
      best = number, fit = {ArchFit::Kind::cubin, arch};
  }
  if (fit.kind == ArchFit::Kind::cubin) return fit;
  int device = capability.major * 10 + capability.minor;
  for (const auto& arch : spec.ptx) {
    int number = arch_number(arch);
    if (number <= device && number > best) best = number, fit = {ArchFit::Kind::ptx, arch};
  }
  return fit;
}

bool driver_runs(const std::string& driver, const matrix::Row& row) {
  return !row.min_driver.empty() && matrix::compare_versions(driver, row.min_driver) >= 0;
}

// The CUDA image to suggest instead: the same torch where possible, the newest CUDA that has
// kernels for every given GPU and, when `driver_must_run` it, that this driver fully supports.
const matrix::Row* alternative_row(const matrix::Matrix& matrix, const std::string& torch, const std::string& driver,
                                   const std::vector<const Gpu*>& gpus, bool driver_must_run) {
  auto fits = [&](const matrix::Row& row) {
    if (row.is_cpu() || (driver_must_run && !driver_runs(driver, row))) return false;
    return std::all_of(gpus.begin(), gpus.end(), [&](const Gpu* gpu) {
      return arch_fit(row, gpu->compute_capability).kind != ArchFit::Kind::none;
    });
  };
  const matrix::Row* best = nullptr;
  for (bool same_torch : {true, false}) {
    for (const auto& row : matrix.rows) {
      if (same_torch != (row.torch == torch) || !fits(row)) continue;
      if (!best || matrix::compare_versions(row.torch, best->torch) > 0 ||
          (row.torch == best->torch && matrix::compare_versions(row.cuda, best->cuda) > 0))
        best = &row;
    }
    if (best) return best;
  }
  return nullptr;
}

matrix::Variant variant_of(const ImageFacts& image) {
  std::string_view ref = std::string_view(image.ref).substr(0, image.ref.find('@'));
  return ref.ends_with("-runtime") ? matrix::Variant::runtime : matrix::Variant::devel;
}

std::string arch_list(const matrix::Row& spec) {
  std::string text = "compiled for " + joined(spec.cuda_archs, " ");
  return text + (spec.ptx.empty() ? ", no PTX" : ", PTX " + joined(spec.ptx, " "));
}

bool datacenter_gpu(const Gpu& gpu) {
  return gpu.name.find("GeForce") == std::string::npos && gpu.name.find("TITAN") == std::string::npos;
}

std::optional<CheckResult> driver_cuda_check(const ImageFacts& image, const gpu::GpuInventory& inventory,
                                             const std::vector<const Gpu*>& gpus, const matrix::Matrix& matrix) {
  const matrix::Row& spec = image.spec;
  const std::string& driver = inventory.driver_version;
  if (spec.min_driver.empty())
    return CheckResult{"driver-cuda", Status::warn,
                       "cannot tell which driver CUDA " + spec.cuda +
                           " needs: the image has no io.launcher.min-driver label and the matrix does not know CUDA " +
                           spec.cuda,
                       "add the io.launcher.min-driver label to the image"};
  if (driver_runs(driver, spec))
    return ok("driver-cuda",
              "driver " + driver + " runs CUDA " + spec.cuda + " (needs " + spec.min_driver + " or newer)");

  std::string fix = "update the driver to " + spec.min_driver + " or newer";
  if (const matrix::Row* other = alternative_row(matrix, spec.torch, driver, gpus, true))
    fix += ", or use " + matrix::image_tag(*other, variant_of(image)) + " (needs " + other->min_driver + ")";
  int major = matrix::major_version(spec.cuda);
  auto floor = matrix.minor_version_floor.find(major);
  std::string family = "CUDA " + std::to_string(major) + ".x";
  if (floor != matrix.minor_version_floor.end() && matrix::compare_versions(driver, floor->second) >= 0)
    return CheckResult{"driver-cuda", Status::warn,
                       "driver " + driver + " is older than CUDA " + spec.cuda + " needs (" + spec.min_driver +
                           "): minor-version compatibility (any " + family + " on a driver >= " + floor->second +
                           ") runs the image's compiled kernels, but PTX JIT and CUDA APIs newer than the driver fail",
                       fix};

  std::string message =
      "driver " + driver + " cannot run CUDA " + spec.cuda + ": it needs " + spec.min_driver + " or newer";
  if (floor != matrix.minor_version_floor.end() && floor->second != spec.min_driver)
    message += " (or " + floor->second + " for " + family + " minor-version compatibility)";
  const matrix::CudaToolkit* toolkit = matrix.toolkit(spec.cuda_full.empty() ? spec.cuda : spec.cuda_full);
  int branch = matrix::major_version(driver);
  bool forward_compatible =
      toolkit && std::count(toolkit->forward_compat_branches.begin(), toolkit->forward_compat_branches.end(), branch) &&
      !gpus.empty() && std::all_of(gpus.begin(), gpus.end(), [](const Gpu* gpu) { return datacenter_gpu(*gpu); });
  if (forward_compatible) {
    std::string package =
        "cuda-compat-" + std::to_string(major) + "-" + std::to_string(matrix::version_fields(spec.cuda).at(1));
    fix += "; or, on these data-center GPUs, NVIDIA's forward-compatibility package " + package +
           " supports driver branch " + std::to_string(branch) + " (never GeForce)";
  }
  return CheckResult{"driver-cuda", Status::fail, message, fix};
}

CheckResult arch_check(const ImageFacts& image, const Gpu& gpu, const std::string& driver,
                       const std::vector<const Gpu*>& gpus, const matrix::Matrix& matrix) {
  const matrix::Row& spec = image.spec;
  std::string who = gpu_label(gpu) + " (" + gpu.compute_capability.sm() + ")";
  if (gpu.compute_capability.major == 0)
    return {"gpu-arch", Status::warn, gpu_label(gpu) + ": nvidia-smi did not report its compute capability",
            "run nvidia-smi --query-gpu=compute_cap --format=csv"};
  bool unverified =
      image.origin == ImageFacts::Origin::matrix && (spec.is_unverified("cuda_archs") || spec.is_unverified("ptx"));
  std::string caveat = unverified ? " (the matrix marks this row's architectures unverified)" : "";
  ArchFit fit = arch_fit(spec, gpu.compute_capability);
  if (fit.kind == ArchFit::Kind::cubin && fit.arch == gpu.compute_capability.sm())
    return ok("gpu-arch", who + ": the image has " + fit.arch + " kernels" + caveat);
  if (fit.kind == ArchFit::Kind::cubin)
    return ok("gpu-arch", who + ": runs the image's " + fit.arch + " kernels" + caveat);
  if (fit.kind == ArchFit::Kind::ptx && driver_runs(driver, spec))
    return ok("gpu-arch", who + ": no " + gpu.compute_capability.sm() +
                              " kernels, the driver JIT-compiles the image's " + fit.arch + " PTX (slow first start)" +
                              caveat);
  if (fit.kind == ArchFit::Kind::ptx)
    return {"gpu-arch", Status::fail,
            who + ": only the image's " + fit.arch + " PTX could run on it, and driver " + driver +
                " is too old to JIT-compile CUDA " + spec.cuda + " PTX (needs " + spec.min_driver + ")",
            "update the driver to " + spec.min_driver + " or newer"};
  const matrix::Row* other = alternative_row(matrix, spec.torch, driver, gpus, true);
  if (!other) other = alternative_row(matrix, spec.torch, driver, gpus, false);
  std::string fix = other ? "use " + matrix::image_tag(*other, variant_of(image)) + " (it has " +
                                arch_fit(*other, gpu.compute_capability).arch + " kernels)"
                          : "no image in the matrix has kernels for " + gpu.compute_capability.sm();
  return {"gpu-arch", Status::fail,
          who + ": " + image.ref + " has no kernels for it (" + arch_list(spec) +
              "): PyTorch would fail with \"CUDA error: no kernel image is available for execution on the device\"" +
              caveat,
          fix};
}

CheckResult memory_check(const gpu::GpuInventory& inventory, const std::vector<const Gpu*>& gpus) {
  std::vector<std::string> busy;
  for (const Gpu* gpu : gpus) {
    std::vector<std::string> users;
    for (const auto& process : inventory.processes_on(*gpu))
      users.push_back("PID " + std::to_string(process.pid) +
                      (process.used_mib ? " (" + std::to_string(*process.used_mib) + " MiB)" : ""));
    if (!users.empty())
      busy.push_back(gpu_label(*gpu) + ": " + std::to_string(gpu->memory_used_mib) + " of " +
                     std::to_string(gpu->memory_total_mib) + " MiB used by " + joined(users, ", "));
  }
  if (busy.empty()) return ok("gpu-memory", "no other process uses the selected GPUs");
  return {"gpu-memory", Status::warn, joined(busy, "; "),
          "let the launcher pick free GPUs with \"gpus\": {\"count\": N}, or ask the owners of those processes"};
}

} // namespace

// Where each GPU sits decides the CPU set of envs that name or count GPUs (plan/resolve.cpp).
std::optional<CheckResult> numa_check(const HostSnapshot& snapshot) {
  if (!snapshot.topology) return std::nullopt;
  const gpu::GpuTopology& topology = *snapshot.topology;
  const std::string fix = "set resources.cpuset_cpus and resources.cpuset_mems in the profile to pin CPUs by hand";
  if (!topology.problem.empty())
    return CheckResult{"numa", Status::warn, "envs get no CPU set next to their GPUs: " + topology.problem, fix};
  std::vector<std::string> placed, unknown;
  for (const auto& gpu : snapshot.gpus.gpus) {
    auto found = topology.affinity.find(gpu.index);
    if (found == topology.affinity.end() || !found->second.cpus || !found->second.numa_nodes) {
      unknown.push_back("GPU " + std::to_string(gpu.index));
      continue;
    }
    placed.push_back("GPU " + std::to_string(gpu.index) + ": node " + format_cpu_list(*found->second.numa_nodes) +
                     ", CPUs " + format_cpu_list(*found->second.cpus));
  }
  if (!unknown.empty())
    return CheckResult{"numa", Status::warn,
                       "`nvidia-smi topo -m` gives no CPU or NUMA affinity (N/A) for " + joined(unknown, ", ") +
                           ", so envs with those GPUs get no CPU set (usual in a VM)",
                       fix};
  return ok("numa", "CPU sets follow the GPUs: " + joined(placed, "; "));
}

std::string status_name(Status status) {
  switch (status) {
  case Status::ok:
    return "OK";
  case Status::warn:
    return "WARN";
  case Status::fail:
    return "FAIL";
  }
  return "";
}

CheckResult docker_check(const DockerFacts& docker) {
  using Reach = DockerFacts::Reach;
  switch (docker.reach) {
  case Reach::reachable:
    return ok("docker", product_name(docker.product) + " " + docker.server_version + " answers (client " +
                            docker.client_version + ")");
  case Reach::daemon_down:
    return {"docker", Status::fail, "the Docker daemon is not running: " + docker.error,
            "start it: sudo systemctl start docker"};
  case Reach::permission_denied:
    return {"docker", Status::fail, "no permission to use the Docker daemon: " + docker.error,
            "add yourself to the docker group (sudo usermod -aG docker $USER) and log in again"};
  case Reach::cli_missing:
    return {"docker", Status::fail, "no Docker CLI: " + docker.error,
            "install Docker Engine, or name the CLI with --docker or $LAUNCHER_DOCKER"};
  case Reach::failed:
    return {"docker", Status::fail, "docker fails: " + docker.error, "run 'docker info' to see why"};
  case Reach::not_recorded:
    break;
  }
  return {"docker", Status::warn, "the facts do not record Docker",
          "record them on the host with 'launcher doctor --save-facts DIR'"};
}

std::optional<CheckResult> loopback_publish_check(const DockerFacts& docker) {
  // Podman publishes rootless ports through its own user-space forwarder, not a bridge of the host.
  if (docker.reach != DockerFacts::Reach::reachable || docker.product == DockerFacts::Product::podman)
    return std::nullopt;
  if (matrix::compare_versions(docker.server_version, loopback_fixed_in) >= 0)
    return ok("loopback-publish",
              "Docker Engine " + docker.server_version + " keeps ports published on 127.0.0.1 local");
  return CheckResult{
      "loopback-publish", Status::warn,
      "Docker Engine " + docker.server_version +
          " is older than 28.0: other machines on the same network segment can reach ports published on 127.0.0.1, "
          "and containers' bridge addresses directly",
      "upgrade Docker Engine to 28.0 or later; until then keep untrusted machines off this host's network segment, "
      "or drop new connections routed into the bridges from outside: "
      "iptables -I DOCKER-USER -o br-+ ! -i br-+ -m conntrack --ctstate NEW -j DROP (the same for docker0)"};
}

std::optional<CheckResult> limits_check(const Subject& subject, const DockerFacts& docker) {
  if (docker.reach != DockerFacts::Reach::reachable || docker.product != DockerFacts::Product::podman ||
      !docker.rootless || docker.cgroup_version != "1" || subject.limits.empty())
    return std::nullopt;
  return CheckResult{"limits", Status::warn,
                     "rootless Podman on cgroup v1 does not enforce resource limits: " + joined(subject.limits, ", ") +
                         " will not hold",
                     "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line), "
                     "or run the env with --engine docker"};
}

std::optional<CheckResult> podman_storage_check(const DockerFacts& docker) {
  if (docker.reach != DockerFacts::Reach::reachable || docker.product != DockerFacts::Product::podman ||
      !docker.rootless || (docker.overlay_mount_program.empty() && !docker.overlay_mount_program_by_storage))
    return std::nullopt;
  // Each file's owner as keep-id maps it differs from the image's, so Podman's diff is every file.
  const std::string consequence =
      ": under --userns keep-id a snapshot holds every file of the image again, not only what the env changed";
  const std::string reset = "`podman system reset` (it deletes your Podman images and containers) and load the "
                            "images again";
  if (docker.overlay_mount_program.empty())
    return CheckResult{"storage", Status::warn,
                       "rootless Podman's storage chose fuse-overlayfs for its overlay itself (" + docker.root_dir +
                           "/overlay/.has-mount-program says true) and keeps it" + consequence,
                       "only a new store goes back to the kernel's overlay: " + reset};
  return CheckResult{"storage", Status::warn,
                     "rootless Podman mounts its store's overlay through " + docker.overlay_mount_program + consequence,
                     "on Linux 5.13 or later use the kernel's overlay: remove mount_program from "
                     "~/.config/containers/storage.conf, then " +
                         reset};
}

CheckResult team_file_check(const profile::TeamFileTrust& trust) {
  std::string message = "team file " + trust.path.string() + ": " + profile::trust_status(trust);
  if (!trust.refused()) return ok("team-file", message);
  return {"team-file", Status::warn,
          message + "; `launcher up` refuses it (" + trust.widens.front().origin.describe() + ": " +
              trust.widens.front().what + ")",
          "read the file, then approve it: launcher trust " + trust.path.string()};
}

CheckResult backup_check(const BackupFacts& backup) {
  if (!backup.credentials_problem.empty())
    return {"backup", Status::fail, "backup to " + backup.repository + ": " + backup.credentials_problem,
            "put the profile's keys in the AWS credentials file (see docs/backup.md)"};
  if (!backup.env_running || !backup.store_problem)
    return {"backup", Status::warn,
            "backup to " + backup.repository +
                ": keys found; the store is checked from inside the env, which is "
                "not running",
            "launcher up, then launcher doctor again (or launcher backup ENV)"};
  if (!backup.store_problem->empty())
    return {"backup", Status::fail, "backup to " + backup.repository + ": " + *backup.store_problem,
            "check the profile's backup endpoint and bucket and the keys in the AWS credentials file"};
  return ok("backup", "backup to " + backup.repository + ": the store answers and the keys work");
}

CheckResult driver_check(const gpu::GpuInventory& inventory, bool gpus_requested) {
  if (inventory.driver_version.empty()) {
    if (!gpus_requested) return ok("driver", "no NVIDIA driver (none needed: no GPU requested)");
    return {"driver", Status::fail, "no NVIDIA driver: " + inventory.problem,
            "install the NVIDIA driver, or run without GPUs (--gpus none)"};
  }
  if (!inventory.problem.empty())
    return {"driver", Status::warn, "NVIDIA driver " + inventory.driver_version + ", but " + inventory.problem,
            "run nvidia-smi to see what fails"};
  std::size_t count = inventory.gpus.size();
  return ok("driver", "NVIDIA driver " + inventory.driver_version + ", " + std::to_string(count) + " GPU" +
                          (count == 1 ? "" : "s"));
}

CheckResult toolkit_check(const ToolkitFacts& toolkit) {
  std::vector<std::string> found;
  if (toolkit.nvidia_runtime) found.push_back("nvidia runtime registered with Docker");
  for (const auto& spec : toolkit.cdi_specs)
    found.push_back("CDI spec " + spec);
  if (!toolkit.cli_version.empty()) found.push_back(toolkit.cli_version);
  if (!found.empty()) return ok("toolkit", "NVIDIA Container Toolkit: " + joined(found, ", "));
  if (!toolkit.recorded)
    return {"toolkit", Status::warn, "the facts do not record the NVIDIA Container Toolkit",
            "record them on the host with 'launcher doctor --save-facts DIR'"};
  return {
      "toolkit", Status::fail,
      "no NVIDIA Container Toolkit (no nvidia runtime in docker info, no CDI spec in /etc/cdi or /var/run/cdi, "
      "no nvidia-container-cli): docker run --gpus would fail with 'could not select device driver \"\" with "
      "capabilities: [[gpu]]'",
      "install nvidia-container-toolkit, run 'sudo nvidia-ctk runtime configure --runtime=docker' and restart Docker"};
}

std::optional<CheckResult> cdi_check(const Subject& subject, const HostSnapshot& snapshot) {
  if (!requests_gpus(subject)) return std::nullopt;
  if (subject.gpu_runtime == host::GpuRuntime::nvidia) {
    std::size_t offered = snapshot.docker ? gpu::nvidia_cdi_devices(snapshot.docker->cdi_devices).size() : 0;
    if (offered == 0) return std::nullopt;
    return ok("cdi", "Docker lists " + std::to_string(offered) + " NVIDIA CDI device" + (offered == 1 ? "" : "s") +
                         ": " + host::gpu_runtime_variable +
                         "=cdi would pass the GPUs as --device nvidia.com/gpu=... through that spec, MIG devices "
                         "by UUID too");
  }
  if (!snapshot.cdi) return std::nullopt;
  const CdiFacts& cdi = *snapshot.cdi;
  std::vector<std::string> requested = render::cdi_devices(subject.gpus);
  std::string subject_text = "GPUs through CDI (" + joined(requested, ", ") + "): ";
  // Off in the daemon, no spec matters: `--device nvidia.com/gpu=...` fails at start.
  if (snapshot.docker && snapshot.docker->cdi_spec_dirs && snapshot.docker->cdi_spec_dirs->empty())
    return CheckResult{"cdi", Status::fail,
                       subject_text + "Docker Engine " + snapshot.docker->server_version +
                           " has CDI off (docker info's CDISpecDirs is empty)",
                       "add \"features\": {\"cdi\": true} to /etc/docker/daemon.json and restart Docker (Engine 25 "
                       "to 28.1; 28.2 and later have it on), or unset " +
                           std::string(host::gpu_runtime_variable)};
  std::vector<std::string> failures, warnings;
  if (cdi.specs.empty() && cdi.listed.empty()) {
    failures.push_back("no CDI spec for NVIDIA GPUs in /etc/cdi or /var/run/cdi");
  } else if (cdi.listed_by.empty()) {
    warnings.push_back("cannot tell which devices the CDI specs define: " + cdi.list_problem);
  } else if (auto missing = gpu::missing_cdi_devices(requested, cdi.listed); !missing.empty()) {
    failures.push_back(cdi.listed_by + " lists no " + joined(missing, ", ") + " (it lists " +
                       (cdi.listed.empty() ? std::string("none") : joined(cdi.listed, ", ")) + ")");
  }
  const std::string& driver = snapshot.gpus.driver_version;
  std::vector<std::string> generated_for;
  for (const auto& spec : cdi.specs) {
    if (!spec.problem.empty())
      warnings.push_back(spec.path + ": " + spec.problem);
    else if (!spec.driver_version.empty() && !driver.empty() && spec.driver_version != driver)
      failures.push_back(spec.path + " was generated for driver " + spec.driver_version + ", the driver is " + driver +
                         " (its libraries are gone)");
    else if (!spec.driver_version.empty())
      generated_for.push_back(spec.path + " is for driver " + spec.driver_version);
  }
  if (failures.empty() && warnings.empty())
    return ok("cdi", subject_text + cdi.listed_by + " lists them" +
                         (generated_for.empty() ? "" : "; " + joined(generated_for, ", ")));
  std::vector<std::string> problems = failures;
  problems.insert(problems.end(), warnings.begin(), warnings.end());
  std::string fix = gpu::cdi_generate_fix;
  if (cdi.list_problem == gpu::nvidia_ctk_missing)
    fix = "install the NVIDIA Container Toolkit (nvidia-ctk), then " + fix;
  return CheckResult{"cdi", failures.empty() ? Status::warn : Status::fail, subject_text + joined(problems, "; "), fix};
}

CheckResult image_check(const ImageFacts& image, bool gpus_requested, const matrix::Matrix& matrix) {
  using Origin = ImageFacts::Origin;
  if (!image.problem.empty())
    return {"image", Status::warn, "cannot read the labels of " + image.ref + ": " + image.problem,
            "run 'docker image inspect " + image.ref + "' to see what the engine says"};
  if (image.origin == Origin::unknown) {
    if (!image.present)
      return {"image", Status::warn,
              image.ref + " is not present locally and its tag is not one images/matrix.json derives: its PyTorch and "
                          "CUDA are unknown",
              "pull or build it, then run 'launcher doctor' again"};
    return {"image", Status::warn,
            "cannot tell which PyTorch and CUDA " + image.ref +
                " has: no io.launcher.* labels, and its tag is not one images/matrix.json derives",
            "use an image whose tag the matrix derives, or label it (io.launcher.torch, io.launcher.cuda, "
            "io.launcher.cuda-archs, io.launcher.min-driver)"};
  }
  std::string versions = describe_versions(image.spec);
  if (gpus_requested && image.spec.is_cpu()) {
    const matrix::Row* cuda = nullptr;
    for (const auto& row : matrix.rows)
      if (row.torch == image.spec.torch && !row.is_cpu() &&
          (!cuda || matrix::compare_versions(row.cuda, cuda->cuda) > 0))
        cuda = &row;
    return {"image", Status::warn,
            image.ref + " is a CPU image (" + versions + "): PyTorch in it will not use the requested GPUs",
            cuda ? "use a CUDA image, e.g. " + matrix::image_tag(*cuda, matrix::Variant::devel) : "use a CUDA image"};
  }
  if (image.origin == Origin::labels) return ok("image", image.ref + ": " + versions + " (from its labels)");
  std::string unverified = image.spec.unverified.empty() ? "" : "; unverified: " + joined(image.spec.unverified, ", ");
  if (!image.present)
    return ok("image", image.ref + ": not pulled yet; " + versions + " per the matrix row of its tag" + unverified);
  return {"image", Status::warn,
          image.ref + " has no io.launcher.* labels; assuming the matrix row of its tag: " + versions + unverified,
          "rebuild it from images/ so that its labels record what it contains"};
}

CheckResult shm_check(const Subject& subject) {
  if (subject.ipc == plan::Ipc::host) return ok("shm", "/dev/shm is the host's (ipc: host)");
  std::string size = format_docker_size(subject.shm_size_bytes);
  if (subject.shm_size_bytes >= min_shm_bytes) return ok("shm", "/dev/shm is " + size);
  std::string fields;
  for (const auto& [key, value] : shm_advice(subject.memory_bytes))
    fields += (fields.empty() ? "\"" : ", \"") + key + "\": " + value.dump();
  return {"shm", Status::warn,
          "/dev/shm is " + size + ": PyTorch DataLoader workers die with \"Bus error\" when it fills",
          "set " + fields +
              (subject.memory_bytes ? " in the profile (its memory limit of " +
                                          format_docker_size(*subject.memory_bytes) + " counts /dev/shm)"
                                    : std::string(" (or more) in the profile")) +
              ", or \"ipc\": \"host\""};
}

std::vector<std::pair<std::string, nlohmann::json>> shm_advice(std::optional<std::uint64_t> memory) {
  constexpr std::uint64_t gib = 1ULL << 30;
  if (!memory || *memory >= 16 * gib) return {{"shm_size", "8g"}};
  // Half the limit in whole GiB, as the default takes it.
  if (*memory >= 2 * min_shm_bytes) return {{"shm_size", format_docker_size(*memory / 2 / gib * gib)}};
  return {{"shm_size", format_docker_size(min_shm_bytes)},
          {"resources", {{"memory", format_docker_size(2 * min_shm_bytes)}}}};
}

CheckResult container_check(const ContainerFacts& container, bool gpus_requested) {
  const std::string& name = container.name;
  std::string recreate = "recreate it: launcher up --recreate --name " + name + " (files in its volumes are kept)";
  if (!container.exists)
    return {"container", Status::fail, "no container named " + name, "start it: launcher up --name " + name};
  if (!container.problem.empty())
    return {"container", Status::fail,
            "cannot read what Docker says about container " + name + ": " + container.problem,
            "run 'docker container inspect " + name + "' to see what the engine says"};
  if (!container.running)
    return {"container", Status::warn, "container " + name + " is not running (" + container.status + ")",
            "start it: launcher up --name " + name};
  if (!gpus_requested) return ok("container", "container " + name + " is running, without GPUs");
  const facts::Fact& list = container.gpu_list;
  std::string output = list.out + list.err;
  if (output.find("Unknown Error") != std::string::npos)
    return {"container", Status::fail,
            "container " + name +
                " lost its GPUs: nvidia-smi inside answers \"Failed to initialize NVML: Unknown Error\" "
                "(the host's systemctl daemon-reload or a driver update revoked its device access)",
            recreate};
  if (list.exit_code == 127 || output.find("executable file not found") != std::string::npos)
    return {"container", Status::warn, "cannot check container " + name + "'s GPUs: its image has no nvidia-smi", ""};
  if (!list.ok())
    return {"container", Status::fail,
            "nvidia-smi in container " + name + " fails: " + output.substr(0, output.find('\n')), recreate};
  std::size_t count = 0;
  for (std::size_t at = list.out.find("GPU "); at != std::string::npos; at = list.out.find("\nGPU ", at + 1))
    ++count;
  return ok("container", "container " + name + " sees " + std::to_string(count) + " GPU" + (count == 1 ? "" : "s"));
}

std::vector<CheckResult> gpu_checks(const Subject& subject, const HostSnapshot& snapshot,
                                    const matrix::Matrix& matrix) {
  const gpu::GpuInventory& inventory = snapshot.gpus;
  if (!requests_gpus(subject) || inventory.driver_version.empty()) return {};
  std::vector<CheckResult> results;
  std::vector<const Gpu*> gpus;
  try {
    if (subject.gpus.kind == plan::GpuAssignment::Kind::devices)
      gpus = gpu::match_devices(inventory, subject.gpus.devices);
    else
      for (const auto& gpu : inventory.gpus)
        gpus.push_back(&gpu);
  } catch (const Error& error) {
    return {{"gpus", Status::fail, error.what(), "name GPUs this host has, or use \"gpus\": {\"count\": N}"}};
  }
  if (gpus.empty())
    return {{"gpus", Status::fail,
             "the profile asks for every GPU, and the driver lists none" +
                 (inventory.problem.empty() ? "" : ": " + inventory.problem),
             "run nvidia-smi to see what fails, or run without GPUs (--gpus none)"}};
  std::vector<std::string> names;
  for (const Gpu* gpu : gpus)
    names.push_back(gpu_label(*gpu) + " (" + std::to_string(gpu->memory_total_mib) + " MiB)");
  results.push_back(ok("gpus", joined(names, ", ")));

  if (snapshot.image && snapshot.image->is_cuda()) {
    if (auto result = driver_cuda_check(*snapshot.image, inventory, gpus, matrix)) results.push_back(*result);
    for (const Gpu* gpu : gpus)
      results.push_back(arch_check(*snapshot.image, *gpu, inventory.driver_version, gpus, matrix));
  }
  results.push_back(memory_check(inventory, gpus));
  return results;
}

namespace {

std::string describe_port(const RdmaPort& port) {
  // "200 Gb/sec (4X HDR)" -> "200 Gb/sec": the link layer says more to a reader than the lane width.
  std::string rate = port.rate.substr(0, port.rate.find(" ("));
  return port.device + " port " + port.port + " " + port.state + " " + rate + " (" + port.link_layer + ")";
}

constexpr const char* tcp_fallback = "NCCL falls back to TCP sockets, up to ~40x slower";

} // namespace

std::optional<CheckResult> infiniband_check(const HostSnapshot& snapshot) {
  if (!snapshot.infiniband || !snapshot.infiniband->recorded) return std::nullopt;
  const InfinibandFacts& infiniband = *snapshot.infiniband;
  if (!infiniband.problem.empty())
    return CheckResult{"infiniband", Status::warn, "cannot tell the host's InfiniBand devices: " + infiniband.problem,
                       "run ibv_devinfo to see what the host has"};
  if (!infiniband.has_devices())
    return ok("infiniband", "no InfiniBand devices: jobs across nodes talk over TCP sockets");
  std::vector<std::string> ports;
  bool active = false;
  for (const auto& port : infiniband.ports) {
    ports.push_back(describe_port(port));
    active = active || port.state == "ACTIVE";
  }
  std::string host = joined(ports, ", ");
  bool verbs = std::any_of(infiniband.device_nodes.begin(), infiniband.device_nodes.end(),
                           [](const std::string& node) { return node.starts_with("uverbs"); });
  if (!verbs)
    return CheckResult{"infiniband", Status::warn,
                       host + "; /dev/infiniband has no uverbs device, so no container can use them: " + tcp_fallback,
                       "load the verbs module (modprobe ib_uverbs; rdma_ucm for /dev/infiniband/rdma_cm)"};
  if (!active)
    return CheckResult{"infiniband", Status::warn, host + "; no port is ACTIVE: " + tcp_fallback,
                       "check the link and the subnet manager (ibstat shows each port's state)"};
  if (!snapshot.image) return ok("infiniband", host);
  const std::string& image = snapshot.image->ref;
  if (!infiniband.image)
    return CheckResult{"infiniband", Status::warn,
                       host + "; cannot tell whether " + image + " has rdma-core's libraries: the engine lacks it",
                       "pull or build the image, then run doctor again"};
  const ImageRdma& rdma = *infiniband.image;
  if (!rdma.read)
    return CheckResult{"infiniband", Status::warn,
                       host + "; cannot tell whether " + image + " has rdma-core's libraries: " + rdma.problem,
                       "use an image the launcher built (its build records its packages), with libibverbs1, "
                       "ibverbs-providers and librdmacm1 in it"};
  if (!rdma.missing.empty())
    return CheckResult{"infiniband", Status::warn,
                       host + "; " + image + " lacks " + joined(rdma.missing, ", ") + ": " + tcp_fallback,
                       "rebuild the image with `launcher build` (its Dockerfile installs rdma-core's libraries), or "
                       "install libibverbs1 ibverbs-providers librdmacm1 in it"};
  return ok("infiniband", host + "; the image has rdma-core " + rdma.version + " libs");
}

std::vector<CheckResult> doctor_checks(const Subject& subject, const HostSnapshot& snapshot,
                                       const matrix::Matrix& matrix) {
  std::vector<CheckResult> results;
  bool gpus_requested = requests_gpus(subject);
  if (snapshot.docker) {
    results.push_back(docker_check(*snapshot.docker));
    if (auto loopback = loopback_publish_check(*snapshot.docker)) results.push_back(*loopback);
    if (auto limits = limits_check(subject, *snapshot.docker)) results.push_back(*limits);
    if (auto storage = podman_storage_check(*snapshot.docker)) results.push_back(*storage);
  }
  if (snapshot.container) {
    results.push_back(container_check(*snapshot.container, gpus_requested));
    if (!snapshot.container->exists) return results;
  }
  results.push_back(driver_check(snapshot.gpus, gpus_requested));
  if (gpus_requested) results.push_back(toolkit_check(snapshot.toolkit));
  if (auto cdi = cdi_check(subject, snapshot)) results.push_back(*cdi);
  if (snapshot.image) results.push_back(image_check(*snapshot.image, gpus_requested, matrix));
  for (auto& result : gpu_checks(subject, snapshot, matrix))
    results.push_back(std::move(result));
  if (auto numa = numa_check(snapshot)) results.push_back(*numa);
  if (auto infiniband = infiniband_check(snapshot)) results.push_back(*infiniband);
  results.push_back(shm_check(subject));
  return results;
}

std::vector<CheckResult> preflight_checks(const plan::Plan& plan, const HostSnapshot& snapshot,
                                          const matrix::Matrix& matrix) {
  Subject subject = subject_of(plan);
  std::vector<CheckResult> results;
  if (snapshot.docker) {
    results.push_back(docker_check(*snapshot.docker));
    if (subject.publishes_on_loopback)
      if (auto loopback = loopback_publish_check(*snapshot.docker)) results.push_back(*loopback);
    if (auto limits = limits_check(subject, *snapshot.docker)) results.push_back(*limits);
  }
  if (requests_gpus(subject)) {
    results.push_back(driver_check(snapshot.gpus, true));
    results.push_back(toolkit_check(snapshot.toolkit));
    if (auto cdi = cdi_check(subject, snapshot)) results.push_back(*cdi);
    if (snapshot.image) results.push_back(image_check(*snapshot.image, true, matrix));
    for (auto& result : gpu_checks(subject, snapshot, matrix))
      results.push_back(std::move(result));
  }
  results.push_back(shm_check(subject));
  return results;
}

bool any_failed(const std::vector<CheckResult>& results) {
  return std::any_of(results.begin(), results.end(),
                     [](const CheckResult& result) { return result.status == Status::fail; });
}

std::string warnings_text(const std::vector<CheckResult>& results) {
  std::string text;
  for (const auto& result : results)
    if (result.status == Status::warn)
      text += "launcher: warning: " + result.id + ": " + result.message +
              (result.fix.empty() ? "" : "\n  fix: " + result.fix) + "\n";
  return text;
}

void require_no_failures(const std::vector<CheckResult>& results) {
  if (!any_failed(results)) return;
  std::string message = "pre-flight checks failed:";
  for (const auto& result : results)
    if (result.status == Status::fail)
      message += "\n  " + result.id + ": " + result.message + (result.fix.empty() ? "" : "\n    fix: " + result.fix);
  message += "\nrun 'launcher doctor' for the whole report, or pass --skip-checks to start anyway";
  throw Error(ExitCode::host_incapable, message);
}

} // namespace launcher::doctor
