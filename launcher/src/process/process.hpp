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

// Spawns argv directly (posix_spawnp, no shell), feeds `input` to its stdin and collects
// its output. Throws Error when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, std::string_view input = {});

} // namespace launcher::process
