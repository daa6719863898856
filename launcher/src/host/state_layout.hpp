#pragma once

#include <filesystem>
#include <string>

#include "launcher_contract/contract.hpp"

namespace launcher::host {

// Where one environment keeps its state. Only `secrets_dir` is ever mounted into the
// container (read-only): plaintext passwords stay outside it, for `secret show` alone.
struct StateLayout {
  std::filesystem::path env_dir;     // ${XDG_STATE_HOME:-~/.local/state}/launcher/envs/<env>, 0700
  std::filesystem::path secrets_dir; // env_dir/secrets, 0700, mounted at contract::mount::secrets_dir

  std::filesystem::path jupyter_token() const { return secrets_dir / contract::secret_file::jupyter_token; }
  std::filesystem::path jupyter_password_hash() const {
    return secrets_dir / contract::secret_file::jupyter_password_hash;
  }
  std::filesystem::path host_key() const { return secrets_dir / contract::secret_file::ssh_host_key; }
  std::filesystem::path host_public_key() const { return secrets_dir / contract::secret_file::ssh_host_public_key; }
  std::filesystem::path authorized_keys() const { return secrets_dir / contract::secret_file::authorized_keys; }
  std::filesystem::path user_password_hash() const { return secrets_dir / contract::secret_file::user_password_hash; }
  std::filesystem::path jupyter_password() const { return env_dir / "jupyter_password"; }
  std::filesystem::path user_password() const { return env_dir / "user_password"; }
  std::filesystem::path known_hosts() const { return env_dir / "known_hosts"; }
  std::filesystem::path recorded_plan() const { return env_dir / "plan.json"; }     // the plan `up` last ran
  std::filesystem::path last_snapshot() const { return env_dir / "snapshot.json"; } // what the last snapshot held
};

// `state_home` is ${XDG_STATE_HOME:-~/.local/state}, as HostFacts reads it.
StateLayout state_layout(const std::string& env, const std::filesystem::path& state_home);

} // namespace launcher::host
