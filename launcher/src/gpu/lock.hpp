#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "gpu/selection.hpp"

namespace launcher::docker {
class Docker;
}

namespace launcher::gpu {

// Whether a recorded holder still holds: its container exists, or the `up` that reserved the
// GPUs is still running (its container may not exist yet).
struct HolderProbe {
  std::function<bool(const std::string& env)> container_exists;
  std::function<bool(long pid)> process_alive;
};

// Asks Docker for containers labelled io.launcher.env=<env>; kill(pid, 0) for processes.
// When Docker does not answer, a holder counts as alive: better refuse than share a GPU.
HolderProbe live_holder_probe(const docker::Docker& docker);

// The host-wide directory of the GPU table. /run is root's, so no other user can plant a
// directory, a symlink or a file here before root makes it (unlike the world-writable /run/lock).
inline constexpr const char* shared_lock_dir = "/run/launcher";

// The table every user of the docker group shares, <shared_lock_dir>/gpus.json, when that
// directory exists and this user may write it; root makes the directory (root:docker, 2770)
// on first use. Otherwise <state_home>/launcher/gpus.json, which serializes this user's `up`s
// only: the containers' io.launcher.gpus labels keep other users' GPUs taken either way.
std::filesystem::path default_lock_file(const std::filesystem::path& state_home);

// How long a locker waits for another before it fails naming the holder.
inline constexpr std::chrono::milliseconds default_lock_wait{10000};

// Runs `update` on the holder table while holding flock(LOCK_EX) on `file`, then writes the
// table back in place. Every reader and writer goes through here, so none sees a partial file.
// The file is never followed through a symlink nor chmodded once made: it must be a regular
// file with one link, in a directory no untrusted user can write (owned by root and not
// world-writable, or this user's own and private), writable by nobody outside its group.
void with_holder_table(const std::filesystem::path& file, const std::function<void(HolderTable&)>& update,
                       std::chrono::milliseconds wait = default_lock_wait);

// Removes holders (other than `env`) whose container is gone and whose reserving process has exited.
void drop_stale_holders(HolderTable& holders, const std::string& env, const HolderProbe& probe);

// Whether a choice is written to the table (`up`) or only told (render, --dry-run).
enum class Reservation { record, preview };

// Chooses `count` GPUs for claimant.env (see choose_gpus) under the lock and, to record,
// writes them, releasing whatever else that env held. `held_by_containers` (from the
// containers' labels) counts as taken too but is not written: Docker stays the source of truth
// for running envs. Returns the chosen GPUs in the order chosen.
std::vector<Gpu> reserve_gpus(const std::filesystem::path& lock_file, const GpuInventory& inventory,
                              const GpuHolder& claimant, int count, const HolderProbe& probe,
                              const HolderTable& held_by_containers = {},
                              Reservation reservation = Reservation::record);

// Records an explicit choice (already checked by match_devices), so `count` selections of
// other envs avoid those GPUs.
void record_gpus(const std::filesystem::path& lock_file, const std::vector<const Gpu*>& gpus,
                 const GpuHolder& claimant);

// Forgets every GPU `env` holds (`down`).
void release_gpus(const std::filesystem::path& lock_file, const std::string& env);

// Who holds a flock on `file`, from /proc/locks: "process 4242 (flock, uid 1001)", or
// "another process" when the kernel does not say.
std::string describe_lock_holder(const std::filesystem::path& file);

} // namespace launcher::gpu
