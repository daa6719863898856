#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "host/gpu_runtime.hpp"

namespace launcher::host {

// The person who ran the launcher as root through sudo: SUDO_UID, SUDO_GID and the name passwd
// gives that uid.
struct SudoInvoker {
  unsigned uid = 0;
  unsigned gid = 0;
  std::string name;
};

// What resolving a profile needs to know about the machine and the invoking user.
struct HostFacts {
  std::string user_name;
  unsigned uid = 0;
  unsigned gid = 0;
  std::filesystem::path home;
  std::filesystem::path state_home; // ${XDG_STATE_HOME:-~/.local/state}
  std::filesystem::path cwd;
  std::uint64_t memory_bytes = 0;
  int gpu_count = 0;
  GpuRuntimeSetting gpu_runtime; // LAUNCHER_GPU_RUNTIME, else the default
  std::string online_cpus;       // CPU list, as /sys/devices/system/cpu/online says
  std::string numa_nodes;        // node list, as /sys/devices/system/node/online says ("0" without NUMA)
  // The most locked memory the local Docker daemon can grant a container, when it cannot grant
  // "unlimited" (no CAP_SYS_RESOURCE and a finite hard limit, as inside some sandboxes).
  std::optional<long long> memlock_ceiling;
  // Set only when the launcher runs as root through sudo: "user": "host" then means this person.
  std::optional<SudoInvoker> sudo_invoker;
};

// What lstat(2) says of a path: its owner and its mode (type bits included).
struct FileFacts {
  unsigned owner = 0;
  unsigned mode = 0;
};

// File-system questions resolve asks; tests answer them without touching the disk.
struct PathProbe {
  std::function<bool(const std::filesystem::path&)> exists;
  // Symlinks followed; only asked for paths that exist.
  std::function<std::filesystem::path(const std::filesystem::path&)> canonical;
  // lstat(2): the link itself, not where it leads; nullopt when the name is not there (or
  // cannot be examined). Asked by the search for a team file and the trust check.
  std::function<std::optional<FileFacts>(const std::filesystem::path&)> facts;
};

HostFacts read_host_facts();

// Who ran the launcher through sudo, from the process's `uid` and the values of SUDO_UID and
// SUDO_GID (null: unset); `name_of` is passwd's name of a uid. Nothing unless `uid` is 0 and
// SUDO_UID names another user. A value that is no id 0-2147483647, or one of the two set without
// the other, is an Error naming the variable.
std::optional<SudoInvoker> sudo_invoker(unsigned uid, const char* sudo_uid, const char* sudo_gid,
                                        const std::function<std::optional<std::string>(unsigned)>& name_of);
PathProbe real_path_probe();

// The host path as a mount sees it: symlinks resolved in the part that exists, the rest (a
// directory "create" makes) appended, so that a link or a missing child cannot hide where it is.
std::filesystem::path mount_source_path(const std::filesystem::path& source, const PathProbe& paths);

// The process's working directory; a deleted one (or one whose path cannot be read) is an Error
// saying so, not a filesystem_error.
std::filesystem::path working_directory();

} // namespace launcher::host
