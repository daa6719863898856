#include <unistd.h>

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "docker/docker.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "process/process.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

void add_exec_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  CLI::App* command =
      env_subcommand(app, "exec", "run a command in an environment as its user, in its work dir", *option);
  command->add_option("CMD", option->rest, "command and arguments after -- (default: bash -l)");
  command->callback([option, &context] {
    docker::Docker docker = context.docker_cli();
    nlohmann::json container = lifecycle::require_environment(docker, option->env);
    std::string uid = lifecycle::env_variable(container, contract::env::uid);
    std::string gid = lifecycle::env_variable(container, contract::env::gid);
    std::string user = lifecycle::env_variable(container, contract::env::user);
    std::string workdir = lifecycle::env_variable(container, contract::env::workdir);
    std::vector<std::string> argv{docker.binary(), "exec",
                                  isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) ? "-it" : "-i"};
    if (!uid.empty())
      argv.insert(argv.end(), {"--user", uid + ":" + gid, "--env",
                               "HOME=" + (uid == "0" ? std::string("/root") : "/home/" + user)});
    if (!workdir.empty()) argv.insert(argv.end(), {"--workdir", workdir});
    argv.push_back(option->env);
    if (option->rest.empty()) argv.insert(argv.end(), {"bash", "-l"});
    argv.insert(argv.end(), option->rest.begin(), option->rest.end());
    process::replace_process(argv);
  });
}

} // namespace launcher::commands
