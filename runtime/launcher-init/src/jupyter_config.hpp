#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace launcher_init {

struct JupyterOptions {
  std::uint16_t port = 8888;
  std::optional<std::string> listen_address; // nullopt: all interfaces
  std::string root_dir;
  std::optional<std::string> password_hash; // "argon2:$argon2id$..."
  bool allow_root = false;
};

// A jupyter_server_config.py that works on Jupyter Server 1.x (Debian) and 2.x (pip). The token
// is not in it: it reaches Jupyter by JUPYTER_TOKEN_FILE.
std::string render_jupyter_config(const JupyterOptions& options);

// "" when `hash` is a Jupyter Server argon2 hash that is safe to quote in the config.
std::string jupyter_password_hash_problem(std::string_view hash);

using ProgramFinder = std::function<std::optional<std::string>(std::string_view name)>;

// The first of `jupyter lab`, `jupyter nbclassic`, `jupyter server`, `python3 -m jupyter_server` that is installed
// (`jupyter X` runs the program `jupyter-X`), loading `config_path` last; nullopt when none is.
std::optional<std::vector<std::string>> jupyter_command(const ProgramFinder& find_program,
                                                        const std::string& config_path);

} // namespace launcher_init
