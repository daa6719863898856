#include "host/state_layout.hpp"

namespace launcher::host {

StateLayout state_layout(const std::string& env, const std::filesystem::path& state_home) {
  std::filesystem::path env_dir = state_home / "launcher" / "envs" / env;
  return {env_dir, env_dir / "secrets"};
}

} // namespace launcher::host
