#include "slurm/client.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"
#include "core/text.hpp"
#include "slurm/output.hpp"

namespace launcher::slurm {

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const auto& directory : split(path ? path : "", ':'))
    if (!directory.empty() && access((std::filesystem::path(directory) / program).c_str(), X_OK) == 0) return true;
  return false;
}

process::ProcessResult run_slurm(const std::vector<std::string>& argv, const std::string& what,
                                 const process::ProcessOptions& options) {
  if (!on_path(argv.front()))
    throw Error(ExitCode::host_incapable, argv.front() + " is not on PATH: Slurm's client commands (Debian: "
                                                         "slurm-client) and a cluster are needed for this");
  process::ProcessResult result = process::run_process(argv, options);
  if (result.exit_code != 0)
    throw Error(ExitCode::failed, what + ": " + argv.front() + " failed: " + slurm::slurm_reason(result.err));
  return result;
}

} // namespace launcher::slurm
