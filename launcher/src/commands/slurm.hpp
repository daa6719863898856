#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

void add_submit_command(CLI::App& app, Context& context);
void add_jobs_command(CLI::App& app, Context& context);
void add_cancel_command(CLI::App& app, Context& context);

} // namespace launcher::commands
