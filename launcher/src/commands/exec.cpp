#include <unistd.h>

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"
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
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    nlohmann::json container = lifecycle::require_environment(*engine, option->env);
    std::string uid = lifecycle::env_variable(container, contract::env::uid);
    std::string gid = lifecycle::env_variable(container, contract::env::gid);
    std::string user = lifecycle::env_variable(container, contract::env::user);
    engine::AttachedExec exec{"",
                              {},
                              lifecycle::env_variable(container, contract::env::workdir),
                              isatty(STDIN_FILENO) && isatty(STDOUT_FILENO),
                              option->rest};
    if (!uid.empty()) {
      exec.user = uid + ":" + gid;
      exec.environment["HOME"] = uid == "0" ? std::string("/root") : "/home/" + user;
    }
    if (exec.command.empty()) exec.command = {"bash", "-l"};
    engine->exec_attached(option->env, exec);
  });
}

} // namespace launcher::commands
