#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "host/host_facts.hpp"
#include "profile/catalog.hpp"

namespace launcher::commands {

void add_profiles_command(CLI::App& app, Context& context);

// Each profile with the sources that define it, what it extends and its description; a profile
// the team file defines also says what of it the team file widens and whether that is approved
// ("team_file", profile::trust_json), the approval read from `host`'s state.
nlohmann::json profiles_json(const profile::Catalog& catalog, const host::HostFacts& host);

} // namespace launcher::commands
