#include "build/buildkit.hpp"

#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "matrix/version.hpp"

namespace launcher::build {

std::string parse_client_version(std::string_view out, const std::string& command) {
  nlohmann::json client = JsonReader::parse(out, command);
  return JsonReader(client, command).at("Version").string();
}

BuildKit buildkit_of(const DockerClient& client) {
  if (client.buildx) return BuildKit::buildx_plugin;
  if (matrix::version_fields(client.version).empty()) return BuildKit::unknown_version;
  // From 23 on the CLI's own `docker build` is the legacy builder; DOCKER_BUILDKIT=1 makes it
  // ask for the plugin. Before, the CLI hands the build to the engine's BuildKit, whose
  // Dockerfile frontend runs `RUN --mount` unasked from 20.10 (BuildKit 0.8) on.
  if (matrix::major_version(client.version) >= 23) return BuildKit::needs_plugin;
  if (matrix::compare_versions(client.version, "20.10") < 0) return BuildKit::too_old;
  return BuildKit::built_in;
}

bool has_buildkit(BuildKit buildkit) {
  switch (buildkit) {
  case BuildKit::buildx_plugin:
  case BuildKit::built_in:
    return true;
  case BuildKit::needs_plugin:
  case BuildKit::too_old:
  case BuildKit::unknown_version:
    return false;
  }
  return false;
}

std::string missing_buildkit_message(const DockerClient& client) {
  std::string why;
  switch (buildkit_of(client)) {
  case BuildKit::buildx_plugin:
  case BuildKit::built_in:
    break;
  case BuildKit::needs_plugin:
    why = "no buildx plugin, which a CLI from 23 on needs for BuildKit";
    break;
  case BuildKit::too_old:
    why = "its built-in BuildKit predates RUN --mount without a syntax line (20.10)";
    break;
  case BuildKit::unknown_version:
    why = "no buildx plugin, and its version is no release number";
    break;
  }
  return escape_control_characters(client.binary) + " (Docker CLI " + escape_control_characters(client.version) +
         ") cannot build with BuildKit (" + why +
         ") and launcher build never uses the legacy builder: install the buildx plugin (Debian: docker-buildx, "
         "Docker's apt repository: docker-buildx-plugin), or name a CLI that has it or BuildKit built in "
         "(20.10 to 22.x): launcher --docker PATH build";
}

} // namespace launcher::build
