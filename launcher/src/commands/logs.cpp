#include <unistd.h>

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "docker/docker.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "process/process.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

void add_logs_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  auto follow = std::make_shared<bool>(false);
  CLI::App* command = env_subcommand(app, "logs", "show an environment's output", *option);
  command->add_flag("-f,--follow", *follow, "keep following");
  command->callback([option, follow, &context] {
    docker::Docker docker(context.docker);
    lifecycle::require_environment(docker, option->env);
    std::vector<std::string> argv{docker.binary(), "logs"};
    if (*follow) argv.push_back("--follow");
    argv.push_back(option->env);
    process::replace_process(argv);
  });
}

} // namespace launcher::commands
