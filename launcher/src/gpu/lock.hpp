#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "gpu/selection.hpp"

namespace launcher::engine {
class Engine;
}

namespace launcher::gpu {

// What the table's holders are judged by: whether a holder's env runs (a stopped env holds
// nothing), and whether the `up` that reserved GPUs is still running (its container may not exist yet).
struct HolderProbe {
  std::function<bool(const std::string& env)> container_running;
  std::function<bool(long pid)> process_alive;
};

// Asks the engine for running containers labelled io.launcher.env=<env>; kill(pid, 0) for processes.
// When the engine does not answer, a holder counts as running: better refuse than share a GPU.
// `engine` must outlive the probe.
HolderProbe live_holder_probe(const engine::Engine& engine);
HolderProbe live_holder_probe(const engine::Engine&& engine) = delete; // a temporary dies first

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

// An `up --wait` in line for GPUs.
struct Waiter {
  GpuHolder who; // env, user and the waiting process
  int count = 0;

  bool operator==(const Waiter&) const = default;
};

// The shared table: who holds which GPU (by UUID), and who waits for GPUs, first come first.
struct GpuTable {
  HolderTable holders;
  std::vector<Waiter> queue;

  bool operator==(const GpuTable&) const = default;
};

// Runs `update` on the table while holding flock(LOCK_EX) on `file`, then writes the table
// back in place. Every reader and writer goes through here, so none sees a partial file.
// The file is never followed through a symlink nor chmodded once made: it must be a regular
// file with one link, in a directory no untrusted user can write (owned by root and not
// world-writable, or this user's own and private), writable by nobody outside its group.
void with_gpu_table(const std::filesystem::path& file, const std::function<void(GpuTable&)>& update,
                    std::chrono::milliseconds wait = default_lock_wait);

// with_gpu_table for what only concerns the holders.
void with_holder_table(const std::filesystem::path& file, const std::function<void(HolderTable&)>& update,
                       std::chrono::milliseconds wait = default_lock_wait);

// How long a `{"count": N}` choice is kept for an env whose job has not yet shown on its GPUs
// (a job may take a minute to allocate its memory).
inline constexpr std::chrono::seconds default_lease_grace{120};

// What recorded choices are judged by: now, in the Clock's seconds, and the grace period.
struct LeaseTerms {
  long long now_s = 0;
  std::chrono::seconds grace = default_lease_grace;
};

// Whether a recorded holder still holds `gpu` (nullptr: a GPU the host no longer lists): while
// the `up` that reserved it runs; after that only while its env's container runs, named GPUs
// for as long, a count choice (a lease) until the GPU's memory use has risen above what it was
// at the choice or the grace period has passed. A running env's label holds its GPUs after that.
bool still_holds(const GpuHolder& holder, const Gpu* gpu, const HolderProbe& probe, const LeaseTerms& terms);

// Removes holders (other than `env`) that no longer hold (still_holds).
void drop_stale_holders(HolderTable& holders, const std::string& env, const HolderProbe& probe,
                        const GpuInventory& inventory, const LeaseTerms& terms);

// Whether a choice is written to the table (`up`) or only told (render, --dry-run).
enum class Reservation { record, preview };

// Chooses `count` GPUs for claimant.env (see choose_gpus) under the lock and, to record,
// writes them as the claimant's lease (chosen now), releasing whatever else that env held.
// `held_by_containers` (from the running containers' labels) counts as taken too but is not
// written: Docker stays the source of truth for running envs; its entries of the claimant's own
// env (from its container, running or stopped) are the GPUs it keeps when they are free.
// Returns the chosen GPUs in the order chosen.
std::vector<Gpu> reserve_gpus(const std::filesystem::path& lock_file, const GpuInventory& inventory,
                              const GpuHolder& claimant, int count, const HolderProbe& probe, const LeaseTerms& terms,
                              const HolderTable& held_by_containers = {},
                              Reservation reservation = Reservation::record);

// Where an `up --wait` stands when its GPUs are not yet free.
struct QueuePlace {
  int place = 0;       // 1: first in line
  int waiting = 0;     // how many wait, this one included
  int free = 0;        // GPUs it could take now
  std::string holders; // choose_gpus's list of every GPU and who holds it
};

// As reserve_gpus (recording), for a claimant that waits its turn: the chosen GPUs when it is
// first in line (or alone) and enough are free, which also takes it out of the line; otherwise
// it is put (or kept) in line, dead waiters are dropped, and its place is returned.
std::variant<std::vector<Gpu>, QueuePlace> reserve_or_queue(const std::filesystem::path& lock_file,
                                                            const GpuInventory& inventory, const GpuHolder& claimant,
                                                            int count, const HolderProbe& probe,
                                                            const LeaseTerms& terms,
                                                            const HolderTable& held_by_containers = {});

// Takes `env`'s waiter out of the line (a wait that ended without GPUs).
void leave_queue(const std::filesystem::path& lock_file, const std::string& env);

// Records an explicit choice (already checked by match_devices), so `count` selections of
// other envs avoid those GPUs.
void record_gpus(const std::filesystem::path& lock_file, const std::vector<const Gpu*>& gpus,
                 const GpuHolder& claimant);

// Forgets every GPU `env` holds and its place in line (`down`).
void release_gpus(const std::filesystem::path& lock_file, const std::string& env);

// Takes flock(LOCK_EX) on `fd`, the file `path`, polling rather than blocking: a holder that
// never lets go is named (describe_lock_holder) after `wait` instead of waited on forever.
void lock_gpu_table(int fd, const std::filesystem::path& path, std::chrono::milliseconds wait);

// Who holds a flock on `file`, from /proc/locks: "process 4242 (flock, uid 1001)", or
// "another process" when the kernel does not say.
std::string describe_lock_holder(const std::filesystem::path& file);

} // namespace launcher::gpu
