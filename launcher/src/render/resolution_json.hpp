#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "plan/resolve.hpp"
#include "render/render.hpp"

namespace launcher::render {

// The machine-readable form of a resolution, as `render --json` and `up --dry-run --json` print
// it: argv, plan, hash, every field's origin and the team file's trust. The argv names the env's
// values by --env-file (`env_file`); the plan holds them, as it always has: it is the user's own
// output, and the plan the hash is taken of (`up` records it in the env's 0600 plan.json).
// `command`: what the engine (`engine`, its name) runs for the plan.
nlohmann::json resolution_json(const ContainerCommand& command, std::string_view engine,
                               const plan::Resolution& resolution);

} // namespace launcher::render
