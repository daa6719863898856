#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "profile/catalog.hpp"

namespace launcher::commands {

void add_profiles_command(CLI::App& app, Context& context);

// Each profile with the sources that define it, what it extends and its description.
nlohmann::json profiles_json(const profile::Catalog& catalog);

} // namespace launcher::commands
