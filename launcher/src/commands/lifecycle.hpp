#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// ENV, and whatever follows "--", for the commands that act on one environment.
struct EnvOption {
  std::string env;
  std::vector<std::string> rest;
};

inline CLI::App* env_subcommand(CLI::App& app, const char* name, const char* description, EnvOption& option) {
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("ENV", option.env, "environment")->required();
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

} // namespace launcher::commands
