#include "profile/builtin.hpp"

namespace launcher::profile {

std::string_view builtin_profiles_json() {
  // Relative host paths resolve against the working directory of the launcher.
  return R"json({
  "version": 1,
  "profiles": {
    "jupyter": {
      "description": "JupyterLab on 127.0.0.1:8888 with a random token; the current directory at /workspace",
      "service": "jupyter",
      "ports": [{"host": 8888, "container": 8888}],
      "volumes": [{"host": ".", "container": "/workspace"}],
      "workdir": "/workspace"
    },
    "ssh": {
      "description": "sshd on 127.0.0.1:2222, key-only, pinned host key; the current directory at /workspace",
      "service": "ssh",
      "ports": [{"host": 2222, "container": 22}],
      "volumes": [{"host": ".", "container": "/workspace"}],
      "workdir": "/workspace"
    },
    "shell": {
      "description": "a long-running container to exec into; the current directory at /workspace",
      "service": "shell",
      "volumes": [{"host": ".", "container": "/workspace"}],
      "workdir": "/workspace"
    }
  }
})json";
}

} // namespace launcher::profile
