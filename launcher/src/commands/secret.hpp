#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// `secret show ENV` and `secret rotate ENV`: the only commands that print secrets.
void add_secret_command(CLI::App& app, Context& context);

} // namespace launcher::commands
