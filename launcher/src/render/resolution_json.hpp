#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plan/resolve.hpp"

namespace launcher::render {

// The machine-readable form of a resolution, as `render --json` and `up --dry-run --json` print
// it: argv, plan, hash and every field's origin.
nlohmann::json resolution_json(const std::string& docker, const plan::Resolution& resolution);

} // namespace launcher::render
