#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

void add_gpus_command(CLI::App& app, Context& context);

} // namespace launcher::commands
