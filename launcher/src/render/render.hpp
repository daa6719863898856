#pragma once

#include <map>
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace launcher::render {

// The name every env resolves to the host (`--add-host NAME:host-gateway`).
inline constexpr const char* host_gateway_alias = "host.docker.internal";

// The value of the io.launcher.gpus label for these GPUs.
std::string gpus_label(const plan::GpuAssignment& gpus);

// The CDI devices of these GPUs as `--device` takes them under the cdi GPU runtime:
// "nvidia.com/gpu=all", or one per device. A device without a CDI name is an Error (resolve_plan
// refuses such a plan first, naming the profile's field).
std::vector<std::string> cdi_devices(const plan::GpuAssignment& gpus);

// A command that creates a container: the program and its subcommand (the engine's:
// engine::Engine::container_command), the options in a fixed order (each with its value), then the
// image and the command to run.
struct ContainerCommand {
  std::vector<std::string> program; // the CLI and its words that create a container; empty from render
  std::vector<std::vector<std::string>> options;
  std::vector<std::string> image_and_command;
  // The profile's env (plan.environment): its values are never an argument, where every user of
  // the host reads them (/proc/PID/cmdline). The options name the file that holds them
  // (--env-file, its text from env_file_text), which the caller writes with mode 0600.
  std::map<std::string, std::string> environment;

  // The argv to spawn; never passed through a shell.
  std::vector<std::string> argv() const;
  // Shell-quoted for a human to read and paste: one option per line, after a comment that names
  // the variables the env file holds (never their values).
  std::string display() const;
};

// Pure: the same plan always renders the same options, image and command; the program is left to
// the engine. `env_file`: where the values of the profile's env will be (`--env-file env_file`,
// only when it has any).
ContainerCommand render_container_command(const plan::Plan& plan, const std::string& env_file);

// The file docker run's --env-file reads: one NAME=VALUE line each, the value verbatim up to the
// line's end. A value holds no line break and a line at most env_file_line_limit bytes (the schema
// refuses others).
std::string env_file_text(const std::map<std::string, std::string>& environment);
// The Docker CLI reads --env-file with Go's bufio.Scanner: a longer line is "token too long".
inline constexpr std::size_t env_file_line_limit = 65535;

// One argument quoted for a POSIX shell, unquoted when it is safe as it is.
std::string shell_quote(const std::string& argument);

// The words shell-quoted and joined by spaces: one command line to read or paste.
std::string shell_words(const std::vector<std::string>& words);

} // namespace launcher::render
