#include <unistd.h>

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"
#include "host/state_layout.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "process/process.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

namespace {

lifecycle::SshTarget ssh_target(const engine::Engine& engine, const std::string& env) {
  nlohmann::json container = lifecycle::require_environment(engine, env);
  auto endpoint = lifecycle::endpoint_for(container, 22);
  if (!endpoint)
    throw Error(ExitCode::failed, "environment \"" + env + "\" publishes no SSH port (it is a \"" +
                                      lifecycle::env_variable(container, contract::env::service) + "\" environment)");
  host::HostFacts host = host::read_host_facts();
  host::StateLayout layout = host::state_layout(EnvName::parse(env), host.state_home);
  secrets::repair_host_key_files(layout, env); // a deleted known_hosts would fail the pinned check
  return {lifecycle::reachable_host(*endpoint), endpoint->host_port,
          lifecycle::env_variable(container, contract::env::user), secrets::host_key_alias(env),
          layout.known_hosts().string()};
}

} // namespace

void add_ssh_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  CLI::App* command = env_subcommand(app, "ssh", "ssh into an environment, checking its pinned host key", *option);
  command->add_option("ARGS", option->rest, "arguments for ssh after -- (a remote command, -L ...)");
  command->callback([option, &context] {
    std::vector<std::string> argv = lifecycle::ssh_argv(ssh_target(*context.container_engine(), option->env));
    argv.insert(argv.end(), option->rest.begin(), option->rest.end());
    process::replace_process(argv);
  });
}

void add_ssh_config_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  CLI::App* command =
      env_subcommand(app, "ssh-config", "print a Host block for ~/.ssh/config and VS Code Remote-SSH", *option);
  command->callback([option, &context] {
    lifecycle::SshTarget target = ssh_target(*context.container_engine(), option->env);
    *context.out << fmt::format(
        "Host {}\n  HostName {}\n  Port {}\n  User {}\n  HostKeyAlias {}\n  UserKnownHostsFile {}\n"
        "  StrictHostKeyChecking yes\n",
        target.alias, target.host, target.port, target.user, target.alias, target.known_hosts);
  });
}

} // namespace launcher::commands
