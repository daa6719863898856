#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// `launcher build`: one matrix row through images/Dockerfile, labelled with what torch reports.
void add_build_command(CLI::App& app, Context& context);

} // namespace launcher::commands
