#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/env_name.hpp"
#include "gpu/inventory.hpp"
#include "gpu/selection.hpp"

// The shared GPU table of rootless engines. Rootless Podman users cannot see each other's
// containers, so no container label tells one user which GPUs another user's envs hold: each env
// holding GPUs leaves one entry file in a directory every user of the `launcher` group shares.
namespace launcher::gpu {

// The table's directory, persistent so that `launcher setup-host` is a one-time step; entries
// from before a reboot prove nothing (their proof names the boot).
inline constexpr const char* shared_table_default_dir = "/var/lib/launcher/gpus";
// Names another directory (tests).
inline constexpr const char* shared_table_dir_variable = "LAUNCHER_GPU_TABLE_DIR";
// The group whose members may write entries.
inline constexpr const char* shared_table_group = "launcher";
// root:launcher; setgid, so entries get the group; sticky, so no member removes or replaces
// another user's entry; readable by all, so users outside the group still avoid taken GPUs.
inline constexpr mode_t shared_table_mode = 03775;
// The lock every writer takes: a file root made, which anyone may open to read and flock, so no
// user owns (or can replace) what serializes everyone's choices.
inline constexpr const char* shared_table_lock_name = ".lock";
inline constexpr mode_t shared_table_lock_mode = 0644;
// How long a chooser waits for another before it fails naming the holder.
inline constexpr std::chrono::milliseconds shared_table_lock_wait{10000};

// $LAUNCHER_GPU_TABLE_DIR, or shared_table_default_dir.
std::filesystem::path shared_table_dir();

// A process as the proof that an env still runs: its PID, its start time in clock ticks after
// boot (field 22 of /proc/PID/stat) and the boot it ran in, so that the PID reused by another
// process, in this boot or the next, proves nothing.
struct ProcessProof {
  long pid = 0;
  unsigned long long start_ticks = 0;
  std::string boot_id;

  bool operator==(const ProcessProof&) const = default;
};

// What /proc says of a PID now.
struct ProcessSeen {
  bool exists = false;
  std::optional<unsigned long long> start_ticks; // nullopt: it exists, but its stat is hidden (hidepid)
};

// What entries' holders are judged by: this boot's ID and a look at a PID.
struct LivenessProbe {
  std::string boot_id;
  std::function<ProcessSeen(long pid)> see;
};

// /proc/sys/kernel/random/boot_id, /proc/PID/stat, and kill(PID, 0) where the stat is hidden.
LivenessProbe live_liveness_probe();

// The start time of a /proc/PID/stat line, read after the last ')' (the command name may hold
// spaces and parentheses); nullopt for a line that is not one.
std::optional<unsigned long long> parse_stat_start_ticks(std::string_view stat);

// Whether `proof`'s process still runs: the same boot, the PID there with the same start time.
// A PID whose start time is hidden counts as running: better refuse than share a GPU.
bool still_running(const ProcessProof& proof, const LivenessProbe& probe);

// The proof of a running process; an Error when it does not run (or hides its start time).
ProcessProof proof_of(long pid, const LivenessProbe& probe);

// One env's GPUs (UUIDs) and its holder: while `up` chooses and starts it, that `up` process; once
// its container runs, the container's conmon, which lives exactly as long as the container.
struct SharedEntry {
  std::string env;
  unsigned uid = 0;
  std::string user;
  std::vector<std::string> gpus;
  ProcessProof holder;

  bool operator==(const SharedEntry&) const = default;
};

// "<uid>.<env>.json": an env name is only unique per user under a rootless engine.
std::string shared_entry_file_name(unsigned uid, const EnvName& env);

nlohmann::json to_json(const SharedEntry& entry);

// An entry file's text; an Error naming `source` when it is not what the launcher writes.
SharedEntry parse_shared_entry(std::string_view text, const std::string& source);

// The entries of running envs, and why any file was passed over.
struct SharedTableView {
  std::vector<SharedEntry> live;
  std::vector<std::string> problems;
};

// Reads every entry of `dir` (none when it does not exist). A file is passed over with a problem
// when it is not a regular file with one link of at most 64 KiB, when its owner is not the uid its
// name and its text give, or when its text is not an entry; an entry whose holder no longer runs
// is left out (only its owner can remove it, and does at its next write).
SharedTableView read_shared_table(const std::filesystem::path& dir, const LivenessProbe& probe);

// What the chooser counts as taken for env `env` of `uid`: each live entry's GPUs (its own
// entry's as its own; another user's env of the same name as "<user>/<env>"), and every GPU on
// which nvidia-smi shows a compute process but no live entry names, held by no env.
HolderTable shared_holders(const SharedTableView& view, const GpuInventory& inventory, unsigned uid,
                           const std::string& env);

// The table's lock, held from construction to destruction: flock on <dir>/.lock, waited for at
// most `wait`, then an Error naming the holder. The directory must be a trusted one (see
// require_shared_table_dir) and writable by this user.
class SharedTableLock {
public:
  explicit SharedTableLock(const std::filesystem::path& dir, std::chrono::milliseconds wait = shared_table_lock_wait);
  ~SharedTableLock();
  SharedTableLock(const SharedTableLock&) = delete;
  SharedTableLock& operator=(const SharedTableLock&) = delete;

private:
  int fd_ = -1;
};

// Refuses (Error) a table directory that is missing (setup-host makes it), a symbolic link or no
// directory, writable by every user, owned by anyone but root or this user, or writable by its
// group without the sticky bit; and, for `writing`, one this user may not write (not in the group).
void require_shared_table_dir(const std::filesystem::path& dir, bool writing);

// Writes this user's entry for entry.env in one step (write, then rename), mode 0644, and removes
// this user's entries whose holder no longer runs. Call under SharedTableLock. entry.uid must be
// the effective uid, which owns the file: readers pass over an entry its owner did not write.
void write_shared_entry(const std::filesystem::path& dir, const SharedEntry& entry, const LivenessProbe& probe);

// Removes this user's (the effective uid's) entry for `env`, if any (`down`).
void remove_shared_entry(const std::filesystem::path& dir, const EnvName& env);

// Hands this user's (the effective uid's) entry for `env` from the `up` process `from_pid` to its
// container's conmon: only an entry that `from_pid` wrote. Returns whether it did.
bool hand_entry_to(const std::filesystem::path& dir, const EnvName& env, long from_pid, long conmon_pid,
                   const LivenessProbe& probe);

// State.ConmonPid of `podman inspect`'s container object; nullopt when absent or 0.
std::optional<long> conmon_pid_of(const nlohmann::json& container);

// The table as the GPU chooser uses it when the engine cannot show other users' containers.
struct SharedTable {
  std::filesystem::path dir;
  LivenessProbe liveness;
};

// The table at shared_table_dir(), judged by the live probe.
SharedTable live_shared_table();

} // namespace launcher::gpu
