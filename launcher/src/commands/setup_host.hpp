#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

void add_setup_host_command(CLI::App& app, Context& context);

} // namespace launcher::commands
