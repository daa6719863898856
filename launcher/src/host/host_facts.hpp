#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace launcher::host {

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
  std::string online_cpus; // CPU list, as /sys/devices/system/cpu/online says
  std::string numa_nodes;  // node list, as /sys/devices/system/node/online says ("0" without NUMA)
  // The most locked memory the local Docker daemon can grant a container, when it cannot grant
  // "unlimited" (no CAP_SYS_RESOURCE and a finite hard limit, as inside some sandboxes).
  std::optional<long long> memlock_ceiling;
};

// File-system questions resolve asks; tests answer them without touching the disk.
struct PathProbe {
  std::function<bool(const std::filesystem::path&)> exists;
  // Symlinks followed; only asked for paths that exist.
  std::function<std::filesystem::path(const std::filesystem::path&)> canonical;
};

HostFacts read_host_facts();
PathProbe real_path_probe();

// The process's working directory; a deleted one (or one whose path cannot be read) is an Error
// saying so, not a filesystem_error.
std::filesystem::path working_directory();

} // namespace launcher::host
