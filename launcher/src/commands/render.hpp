#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "plan/resolve.hpp"

namespace launcher::commands {

void add_render_command(CLI::App& app, Context& context);

// The machine-readable form of a resolution: argv, plan, hash and every field's origin.
nlohmann::json resolution_json(const std::string& docker, const plan::Resolution& resolution);

} // namespace launcher::commands
