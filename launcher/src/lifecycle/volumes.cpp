#include "lifecycle/volumes.hpp"

#include <filesystem>
#include <system_error>

#include "core/error.hpp"

namespace launcher::lifecycle {

void create_volume_directories(const plan::Plan& plan) {
  for (const auto& directory : plan.create_directories) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (!error) continue;
    std::string volume = directory;
    for (const auto& mount : plan.mounts)
      if (mount.source == directory) volume += ":" + mount.target;
    throw Error(ExitCode::failed,
                "cannot create the host directory of volume " + volume + " (\"create\": true): " + error.message());
  }
}

} // namespace launcher::lifecycle
