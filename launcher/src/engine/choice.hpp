#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker/docker.hpp"
#include "engine/engine.hpp"

namespace launcher::engine {

// One place the engine may be named, as a person names it in a message: "--engine",
// "LAUNCHER_ENGINE", or the user-level config file's path with "/engine".
struct EngineSetting {
  std::string value;
  std::string source;
};

inline constexpr const char* engine_variable = "LAUNCHER_ENGINE";

// "docker" or "podman"; anything else is a usage Error naming the source and the value.
EngineKind parse_engine(const EngineSetting& setting);

// Pure: the first setting given decides (the flag, the variable, the user's config file, in that
// order; the caller passes them so); with none, Docker when docker_is_default, else Podman. A
// profile never chooses: the engine is the host's business. `docker_is_default` is asked only when
// needed.
EngineKind choose_engine(const std::vector<std::optional<EngineSetting>>& settings,
                         const std::function<bool()>& docker_is_default);

// Whether Docker is the default when no setting names an engine: its socket answers, or
// DOCKER_HOST (`docker_host`, "" when unset) names one (the user aims at that Docker: its CLI then
// says what is wrong), or no Podman is installed (Docker's own error then says how to start or
// join it). Otherwise Podman: the rootless engine of a user outside the docker group.
bool docker_is_default(std::string_view docker_host, bool docker_answers, bool podman_installed);

// $XDG_CONFIG_HOME/launcher/config.json (XDG's default ~/.config), the user-level settings that
// are not a profile's. `xdg_config_home`: the variable's value, "" when unset.
std::filesystem::path user_config_file(std::string_view xdg_config_home, const std::filesystem::path& home);

// The "engine" of the user-level config file; nullopt when the file or the key is absent. A file
// that is not a JSON object, or an "engine" that is not a string, is a usage Error naming the file.
std::optional<EngineSetting> engine_in_config(const std::filesystem::path& file);

// Whether a Docker engine answers, without spawning its CLI: a connection to the socket that
// `docker_host` ($DOCKER_HOST, "" when unset) names, or to /var/run/docker.sock. A DOCKER_HOST
// that is not a unix socket (tcp://, ssh://) counts as answering: the CLI will say otherwise.
bool docker_answers(std::string_view docker_host);

// The engine of this kind, running its CLI through `cli`.
std::unique_ptr<Engine> make_engine(EngineKind kind, docker::Docker cli);

} // namespace launcher::engine
