#include "profile/builtin.hpp"

#include <string>

#include <nlohmann/json.hpp>

namespace launcher::profile {

std::string_view builtin_profiles_json() {
  static const std::string text = [] {
    using nlohmann::json;
    json profiles{
        {"jupyter",
         {{"description", "JupyterLab on a free port of 127.0.0.1 (kept for the env) with a random token; the current "
                          "directory at /workspace"},
          {"service", "jupyter"},
          {"ports", {{{"host", "auto"}, {"container", 8888}}}}}},
        {"ssh",
         {{"description", "sshd on a free port of 127.0.0.1 (kept for the env), key-only, pinned host key; the current "
                          "directory at /workspace"},
          {"service", "ssh"},
          {"ports", {{{"host", "auto"}, {"container", 22}}}}}},
        {"shell",
         {{"description", "a long-running container to exec into; the current directory at /workspace"},
          {"service", "shell"}}},
    };
    // Every built-in works in the current directory, mounted at /workspace (a relative host path
    // resolves against the launcher's working directory).
    const json workspace{{"volumes", {{{"host", "."}, {"container", "/workspace"}}}}, {"workdir", "/workspace"}};
    for (auto& [name, profile] : profiles.items())
      profile.update(workspace);
    return json{{"version", 1}, {"profiles", profiles}}.dump(2);
  }();
  return text;
}

} // namespace launcher::profile
