#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// `launcher trust [FILE]`: shows what a team file widens and records its content as approved.
void add_trust_command(CLI::App& app, Context& context);

} // namespace launcher::commands
