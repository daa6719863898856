#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace launcher::process {

struct ProcessResult {
  int exit_code = 0; // 128 + N when killed by signal N
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::string_view input;  // fed to stdin, which is then closed
  std::string working_dir; // empty: ours
};

// Spawns argv directly (posix_spawnp, no shell) and collects its output.
// Throws Error when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

} // namespace launcher::process
