#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"
#include "core/env_name.hpp"

namespace launcher::commands {

// ENV, and whatever follows "--", for the commands that act on one environment.
struct EnvOption {
  std::string env;
  std::vector<std::string> rest;
};

// Refuses, while the command line is parsed (before anything is touched), a value that is no
// environment name (core/env_name.hpp); `also` accepts other values too (a Slurm job id).
inline CLI::Validator env_name_validator(bool (*also)(std::string_view) = nullptr) {
  return CLI::Validator(
      [also](std::string& value) -> std::string {
        if (also && also(value)) return "";
        try {
          EnvName::parse(value);
          return "";
        } catch (const std::exception& error) {
          return error.what();
        }
      },
      "ENV");
}

inline CLI::App* env_subcommand(CLI::App& app, const char* name, const char* description, EnvOption& option) {
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("ENV", option.env, "environment")->required()->check(env_name_validator());
  return command;
}

void add_down_command(CLI::App& app, Context& context);
void add_ps_command(CLI::App& app, Context& context);
void add_logs_command(CLI::App& app, Context& context);
void add_exec_command(CLI::App& app, Context& context);
void add_ssh_command(CLI::App& app, Context& context);
void add_ssh_config_command(CLI::App& app, Context& context);
void add_open_command(CLI::App& app, Context& context);
void add_snapshot_command(CLI::App& app, Context& context);
void add_backup_command(CLI::App& app, Context& context);
void add_backups_command(CLI::App& app, Context& context);
void add_restore_command(CLI::App& app, Context& context);

} // namespace launcher::commands
