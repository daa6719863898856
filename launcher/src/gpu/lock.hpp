#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "gpu/selection.hpp"

namespace launcher::gpu {

// Whether a recorded holder still holds: its container exists, or the `up` that reserved the
// GPUs is still running (its container may not exist yet).
struct HolderProbe {
  std::function<bool(const std::string& env)> container_exists;
  std::function<bool(long pid)> process_alive;
};

// Asks Docker for containers labelled io.launcher.env=<env>; kill(pid, 0) for processes.
// When Docker does not answer, a holder counts as alive: better refuse than share a GPU.
HolderProbe live_holder_probe(const std::string& docker);

// /run/lock/launcher/gpus.json, shared by every user of the host, when /run/lock is writable;
// otherwise <state_home>/launcher/gpus.json, which only coordinates this user's envs.
std::filesystem::path default_lock_file(const std::filesystem::path& state_home);

// Runs `update` on the holder table while holding flock(LOCK_EX) on `file`, then writes the
// table back in place. Every reader and writer goes through here, so none sees a partial file.
void with_holder_table(const std::filesystem::path& file, const std::function<void(HolderTable&)>& update);

// Removes holders (other than `env`) whose container is gone and whose reserving process has exited.
void drop_stale_holders(HolderTable& holders, const std::string& env, const HolderProbe& probe);

// Chooses `count` GPUs for claimant.env (see choose_gpus) and records them under the lock,
// releasing whatever else that env held. Returns the chosen GPUs in the order chosen.
std::vector<Gpu> reserve_gpus(const std::filesystem::path& lock_file, const GpuInventory& inventory,
                              const GpuHolder& claimant, int count, const HolderProbe& probe);

// Records an explicit choice (already checked by match_devices), so `count` selections of
// other envs avoid those GPUs.
void record_gpus(const std::filesystem::path& lock_file, const std::vector<const Gpu*>& gpus, const GpuHolder& claimant);

// Forgets every GPU `env` holds (`down`).
void release_gpus(const std::filesystem::path& lock_file, const std::string& env);

} // namespace launcher::gpu
