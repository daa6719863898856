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
  std::string_view input;             // fed to stdin, which is then closed
  std::string working_dir;            // empty: ours
  std::vector<std::string> extra_env; // NAME=VALUE added to our environment
  bool show_output = false;           // the child writes to our stderr (progress) instead of being captured
};

// Spawns argv directly (posix_spawnp, no shell) and collects its output.
// Throws Error when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Replaces this process with argv (execvp), for commands that hand the terminal over to
// docker or ssh: signals and exit status then belong to that program. Returns only by throwing.
[[noreturn]] void replace_process(const std::vector<std::string>& argv);

} // namespace launcher::process
