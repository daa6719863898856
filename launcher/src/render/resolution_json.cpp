#include "render/resolution_json.hpp"

#include "render/render.hpp"

namespace launcher::render {

nlohmann::json resolution_json(const std::string& docker, const plan::Resolution& resolution) {
  nlohmann::json origins = nlohmann::json::object();
  for (const auto& [pointer, origin] : resolution.profile.origins)
    origins[pointer] = origin.describe();
  return {{"argv", render_run_command(docker, resolution.plan).argv()},
          {"plan", plan::to_json(resolution.plan)},
          {"plan_hash", plan::plan_hash(resolution.plan)},
          {"origins", origins}};
}

} // namespace launcher::render
