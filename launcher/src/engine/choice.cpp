#include "engine/choice.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/text.hpp"
#include "engine/docker_engine.hpp"
#include "engine/podman_engine.hpp"

namespace launcher::engine {

namespace fs = std::filesystem;

EngineKind parse_engine(const EngineSetting& setting) {
  for (EngineKind kind : {EngineKind::docker, EngineKind::podman})
    if (setting.value == engine_name(kind)) return kind;
  throw Error(ExitCode::usage,
              setting.source + ": expected docker or podman, found " + quote_for_message(setting.value));
}

EngineKind choose_engine(const std::vector<std::optional<EngineSetting>>& settings,
                         const std::function<bool()>& docker_is_default) {
  for (const auto& setting : settings)
    if (setting) return parse_engine(*setting);
  return docker_is_default() ? EngineKind::docker : EngineKind::podman;
}

bool docker_is_default(std::string_view docker_host, bool docker_answers, bool podman_installed) {
  return !docker_host.empty() || docker_answers || !podman_installed;
}

fs::path user_config_file(std::string_view xdg_config_home, const fs::path& home) {
  fs::path base = !xdg_config_home.empty() && fs::path(xdg_config_home).is_absolute() ? fs::path(xdg_config_home)
                                                                                      : home / ".config";
  return base / "launcher" / "config.json";
}

std::optional<EngineSetting> engine_in_config(const fs::path& file) {
  std::optional<std::string> text = read_file_if_present(file);
  if (!text) return std::nullopt;
  nlohmann::json document = nlohmann::json::parse(*text, nullptr, false);
  if (!document.is_object())
    throw Error(ExitCode::usage, file.string() + ": expected a JSON object, such as {\"engine\": \"podman\"}");
  auto engine = document.find("engine");
  if (engine == document.end()) return std::nullopt;
  EngineSetting setting{"", file.string() + ": /engine"};
  if (!engine->is_string())
    throw Error(ExitCode::usage, setting.source + ": expected docker or podman, found " + engine->dump());
  setting.value = engine->get<std::string>();
  return setting;
}

bool docker_answers(std::string_view docker_host) {
  std::string socket_path = "/var/run/docker.sock";
  if (!docker_host.empty()) {
    constexpr std::string_view unix_scheme = "unix://";
    if (!starts_with(docker_host, unix_scheme)) return true;
    socket_path = std::string(docker_host.substr(unix_scheme.size()));
  }
  sockaddr_un address{};
  if (socket_path.size() >= sizeof(address.sun_path)) return false;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

std::unique_ptr<Engine> make_engine(EngineKind kind, docker::Docker cli) {
  switch (kind) {
  case EngineKind::docker:
    return std::make_unique<DockerEngine>(std::move(cli));
  case EngineKind::podman:
    return std::make_unique<PodmanEngine>(std::move(cli));
  }
  return std::make_unique<DockerEngine>(std::move(cli));
}

} // namespace launcher::engine
