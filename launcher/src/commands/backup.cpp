#include <memory>
#include <ostream>

#include "commands/lifecycle.hpp"
#include "engine/engine.hpp"
#include "lifecycle/backup.hpp"

namespace launcher::commands {

void add_backup_command(CLI::App& app, Context& context) {
  struct Options {
    EnvOption env;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = env_subcommand(app, "backup", "back up an environment's backup paths now and wait", options->env);
  command->add_flag("--json", options->json, "print the result as JSON");
  command->callback([options, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    const std::string& env = options->env.env;
    lifecycle::require_backing_up_env(*engine, env, "a backup");
    nlohmann::json result = lifecycle::run_backup_tool(*engine, env, {"run"}, "backup of " + env);
    *context.out << (options->json ? result.dump(2) : lifecycle::describe_backup_run(env, result)) << "\n";
  });
}

} // namespace launcher::commands
