#include <memory>
#include <ostream>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "engine/engine.hpp"
#include "lifecycle/backup.hpp"

namespace launcher::commands {

void add_restore_command(CLI::App& app, Context& context) {
  struct Options {
    EnvOption env;
    std::string version;
    std::string to;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      env_subcommand(app, "restore", "restore a complete backup version, every file's SHA-256 verified", options->env);
  command->add_option("--version", options->version, "the version to restore (default: the latest complete one)");
  command->add_option("--to", options->to, "a new HOST directory to restore into, instead of the env's own paths");
  command->add_flag("--force", options->force,
                    "in the env's paths, overwrite files newer than the version (not with --to)");
  command->callback([options, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    const std::string& env = options->env.env;
    lifecycle::require_backing_up_env(*engine, env, "a restore");
    if (!options->to.empty()) {
      if (options->force)
        throw Error(ExitCode::usage, "--force overwrites files in the env's paths; --to never writes over host files");
      std::size_t files = lifecycle::restore_to_host(*engine, env, options->version, options->to);
      *context.out << "restored " << files << " files of " << env << " to " << options->to << " (verified)\n";
      return;
    }
    std::vector<std::string> args{"restore"};
    if (!options->version.empty()) args.insert(args.end(), {"--version", options->version});
    if (options->force) args.push_back("--force");
    nlohmann::json result = lifecycle::run_backup_tool(*engine, env, args, "restore of " + env);
    JsonReader read(result, "launcher-init backup restore");
    *context.out << "restored version " << read.string_or("version", options->version) << " of " << env
                 << " into its paths (verified)\n";
  });
}

} // namespace launcher::commands
