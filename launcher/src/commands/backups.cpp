#include <memory>
#include <ostream>

#include "commands/lifecycle.hpp"
#include "engine/engine.hpp"
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
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    const std::string& env = options->env.env;
    lifecycle::require_backing_up_env(*engine, env, "listing the backups");
    nlohmann::json listing = lifecycle::run_backup_tool(*engine, env, {"list"}, "listing the backups of " + env);
    *context.out << (options->json ? listing.dump(2) + "\n" : lifecycle::backup_versions_table(listing));
  });
}

} // namespace launcher::commands
