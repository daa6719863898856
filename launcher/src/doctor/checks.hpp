#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "doctor/snapshot.hpp"
#include "matrix/matrix.hpp"
#include "plan/plan.hpp"
#include "profile/trust.hpp"

namespace launcher::doctor {

enum class Status { ok, warn, fail };

std::string status_name(Status status); // "OK", "WARN", "FAIL"

// One verdict: a stable id scripts can match, one line for people, and what to do about it.
struct CheckResult {
  std::string id;
  Status status = Status::ok;
  std::string message;
  std::string fix; // empty when there is nothing to do

  bool operator==(const CheckResult&) const = default;
};

// Each check is a pure function of gathered facts; the ones that may not apply return nullopt.
CheckResult docker_check(const DockerFacts& docker);
// The team file the profile comes from and whether what it widens is approved: WARN when `up`
// would refuse it.
CheckResult team_file_check(const profile::TeamFileTrust& trust);
std::optional<CheckResult> loopback_publish_check(const DockerFacts& docker);
// Rootless Podman on cgroup v1 ignores every resource limit: WARN naming the subject's.
std::optional<CheckResult> limits_check(const Subject& subject, const DockerFacts& docker);
// Rootless Podman's overlay through a FUSE program (fuse-overlayfs): WARN that a snapshot under
// --userns keep-id holds the whole image, with native overlay as the fix.
std::optional<CheckResult> podman_storage_check(const DockerFacts& docker);
// Each GPU's NUMA node and CPUs, or why envs get no CPU set; nullopt where the topology was not asked.
std::optional<CheckResult> numa_check(const HostSnapshot& snapshot);
CheckResult driver_check(const gpu::GpuInventory& inventory, bool gpus_requested);
CheckResult toolkit_check(const ToolkitFacts& toolkit);
// GPUs through CDI: a spec defines every requested device and was generated for the running
// driver (FAIL otherwise, with the `nvidia-ctk cdi generate` fix; WARN where the devices cannot
// be listed). For GPUs through --gpus: OK where Docker lists NVIDIA CDI devices, offering them.
// nullopt without GPUs, or without CDI devices to offer.
std::optional<CheckResult> cdi_check(const Subject& subject, const HostSnapshot& snapshot);
CheckResult image_check(const ImageFacts& image, bool gpus_requested, const matrix::Matrix& matrix);
CheckResult shm_check(const Subject& subject);
// The profile fields shm_check advises, as a profile writes them: a /dev/shm of at least 1g that
// fits the memory limit `memory` (which counts it), or both raised where the limit is below 2g.
std::vector<std::pair<std::string, nlohmann::json>> shm_advice(std::optional<std::uint64_t> memory);
// The host's InfiniBand ports and whether the image can use them (rdma-core's libraries);
// nullopt where the facts do not hold /sys/class/infiniband. No device is OK: one node's jobs
// need none. WARN where NCCL would fall back to TCP sockets on a host that has InfiniBand.
std::optional<CheckResult> infiniband_check(const HostSnapshot& snapshot);
CheckResult container_check(const ContainerFacts& container, bool gpus_requested);

// What `doctor` learned of an env's backup: whether the host's credentials file gave its keys,
// and what `launcher-init backup check` inside the running env answered.
struct BackupFacts {
  std::string repository;          // "s3://BUCKET/PREFIX/ENV"
  std::string credentials_problem; // the one line reading the keys gave; empty: they were read
  bool env_running = false;
  std::optional<std::string> store_problem; // the check's one line; "" it passed; nullopt: not asked
};
// OK when the keys were read and the store answered with them; FAIL when either failed; WARN
// when the env is not running, since the store is checked from inside it.
CheckResult backup_check(const BackupFacts& backup);

// The GPU checks for the GPUs a subject would get: they exist, the driver runs the image's
// CUDA, each GPU's architecture has kernels in the image, and nobody else is using them.
std::vector<CheckResult> gpu_checks(const Subject& subject, const HostSnapshot& snapshot, const matrix::Matrix& matrix);

// Everything `launcher doctor` reports.
std::vector<CheckResult> doctor_checks(const Subject& subject, const HostSnapshot& snapshot,
                                       const matrix::Matrix& matrix);

// What `up` checks before starting anything, from facts gathered by gather_preflight_facts.
std::vector<CheckResult> preflight_checks(const plan::Plan& plan, const HostSnapshot& snapshot,
                                          const matrix::Matrix& matrix);

bool any_failed(const std::vector<CheckResult>& results);

// "launcher: warning: <id>: <message>" and its fix, a line each, for every WARN: what `up`
// prints before it starts, so a risk doctor knows about is never silent.
std::string warnings_text(const std::vector<CheckResult>& results);

// Throws Error (exit 3) naming every failed check and its fix; `up` calls it unless --skip-checks.
void require_no_failures(const std::vector<CheckResult>& results);

} // namespace launcher::doctor
