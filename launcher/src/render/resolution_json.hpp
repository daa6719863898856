#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plan/resolve.hpp"

namespace launcher::render {

// The machine-readable form of a resolution, as `render --json` and `up --dry-run --json` print
// it: argv, plan, hash, every field's origin and the team file's trust. The argv names the env's
// values by --env-file (`env_file`); the plan holds them, as it always has: it is the user's own
// output, and the plan the hash is taken of (`up` records it in the env's 0600 plan.json).
nlohmann::json resolution_json(const std::string& docker, const plan::Resolution& resolution,
                               const std::string& env_file);

} // namespace launcher::render
