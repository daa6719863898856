#pragma once

#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace launcher::render {

// The value of the io.launcher.gpus label for these GPUs.
std::string gpus_label(const plan::GpuAssignment& gpus);

// A docker command that creates a container: the program and its subcommand, the options
// in a fixed order (each with its value), then the image and the command to run.
struct ContainerCommand {
  std::vector<std::string> program; // {"docker", "run", "-d"} or {"docker", "create"}
  std::vector<std::vector<std::string>> options;
  std::vector<std::string> image_and_command;

  // The argv to spawn; never passed through a shell.
  std::vector<std::string> argv() const;
  // Shell-quoted for a human to read and paste: one option per line.
  std::string display() const;
};

// Pure: the same plan always renders the same command.
ContainerCommand render_container_command(std::vector<std::string> program, const plan::Plan& plan);

// `<docker> run -d ...`: the command `up` runs.
ContainerCommand render_run_command(const std::string& docker, const plan::Plan& plan);

// One argument quoted for a POSIX shell, unquoted when it is safe as it is.
std::string shell_quote(const std::string& argument);

// The words shell-quoted and joined by spaces: one command line to read or paste.
std::string shell_words(const std::vector<std::string>& words);

} // namespace launcher::render
