#include "render/resolution_json.hpp"

#include "render/render.hpp"

namespace launcher::render {

nlohmann::json resolution_json(const ContainerCommand& command, std::string_view engine,
                               const plan::Resolution& resolution) {
  nlohmann::json origins = nlohmann::json::object();
  for (const auto& [pointer, origin] : resolution.profile.origins)
    origins[pointer] = origin.describe();
  return {{"engine", engine},
          {"argv", command.argv()},
          {"plan", plan::to_json(resolution.plan)},
          {"plan_hash", plan::plan_hash(resolution.plan)},
          {"origins", origins},
          // Which team file was used and whether what it widens is approved; null without one.
          {"team_file", resolution.team_file ? profile::trust_json(*resolution.team_file) : nlohmann::json(nullptr)}};
}

} // namespace launcher::render
