#pragma once

#include <string>
#include <string_view>

namespace launcher::build {

// What decides whether a Docker CLI builds with BuildKit, as the CLI itself answers.
struct DockerClient {
  std::string binary;  // as given to --docker
  std::string version; // `docker version --format '{{json .Client}}'`'s Version: "28.2.2", "20.10.24+dfsg1"
  bool buildx = false; // `docker buildx version` succeeds
};

// The Version of the object `docker version --format '{{json .Client}}'` prints (the CLI prints
// it even when no engine answers). Output that is not that object is an Error naming `command`.
std::string parse_client_version(std::string_view out, const std::string& command);

// Where a client's BuildKit comes from, or why it has none. The images' Dockerfile needs
// `RUN --mount` without a `# syntax=` line (which would pull a frontend image), and
// `launcher build` never falls back to the legacy builder, which builds every stage.
enum class BuildKit {
  buildx_plugin,   // the buildx plugin runs: `docker build` is BuildKit's
  built_in,        // a CLI from 20.10 to 22.x with DOCKER_BUILDKIT=1: the engine's BuildKit
  needs_plugin,    // a CLI from 23 on without the plugin: its `docker build` is the legacy builder
  too_old,         // before 20.10 the built-in BuildKit takes `RUN --mount` only with a `# syntax=` line
  unknown_version, // no plugin, and a version that is not a release number ("dev")
};
BuildKit buildkit_of(const DockerClient& client);

bool has_buildkit(BuildKit buildkit);

// The one line refusing a client without BuildKit: the CLI, its version, why, and the fix.
std::string missing_buildkit_message(const DockerClient& client);

} // namespace launcher::build
