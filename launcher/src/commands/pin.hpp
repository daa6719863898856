#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// `launcher pin`: writes the registry digest of a profile's image into the team file.
void add_pin_command(CLI::App& app, Context& context);

} // namespace launcher::commands
