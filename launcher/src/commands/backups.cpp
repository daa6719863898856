#include <memory>
#include <ostream>

#include "commands/lifecycle.hpp"
#include "docker/docker.hpp"
#include "lifecycle/backup.hpp"

namespace launcher::commands {

void add_backups_command(CLI::App& app, Context& context) {
  struct Options {
    EnvOption env;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      env_subcommand(app, "backups", "list an environment's backup versions (complete or incomplete)", options->env);
  command->add_flag("--json", options->json, "print the versions as JSON");
  command->callback([options, &context] {
    docker::Docker docker = context.docker_cli();
    const std::string& env = options->env.env;
    lifecycle::require_backing_up_env(docker, env, "listing the backups");
    nlohmann::json listing = lifecycle::run_backup_tool(docker, env, {"list"}, "listing the backups of " + env);
    *context.out << (options->json ? listing.dump(2) + "\n" : lifecycle::backup_versions_table(listing));
  });
}

} // namespace launcher::commands
