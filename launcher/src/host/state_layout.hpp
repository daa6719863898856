#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/env_name.hpp"
#include "launcher_contract/contract.hpp"

namespace launcher::host {

// Where one environment keeps its state. Only `secrets_dir` is ever mounted into the
// container (read-only): plaintext passwords stay outside it, for `secret show` alone.
struct StateLayout {
  std::filesystem::path state_dir;   // ${XDG_STATE_HOME:-~/.local/state}/launcher: nothing outside it is touched
  std::filesystem::path env_dir;     // state_dir/envs/<env>, 0700
  std::filesystem::path secrets_dir; // env_dir/secrets, 0700, mounted at contract::mount::secrets_dir

  std::filesystem::path envs_dir() const { return env_dir.parent_path(); }
  // The lock `up`, `down`, `snapshot` and `secret rotate` take, beside the env's directory.
  std::filesystem::path lock_file() const { return envs_dir() / ("." + env_dir.filename().string() + ".lock"); }
  std::filesystem::path jupyter_token() const { return secrets_dir / contract::secret_file::jupyter_token; }
  std::filesystem::path jupyter_password_hash() const {
    return secrets_dir / contract::secret_file::jupyter_password_hash;
  }
  std::filesystem::path host_key() const { return secrets_dir / contract::secret_file::ssh_host_key; }
  std::filesystem::path host_public_key() const { return secrets_dir / contract::secret_file::ssh_host_public_key; }
  std::filesystem::path authorized_keys() const { return secrets_dir / contract::secret_file::authorized_keys; }
  std::filesystem::path user_password_hash() const { return secrets_dir / contract::secret_file::user_password_hash; }
  std::filesystem::path backup_credentials() const { return secrets_dir / contract::secret_file::backup_credentials; }
  std::filesystem::path jupyter_password() const { return env_dir / "jupyter_password"; }
  std::filesystem::path user_password() const { return env_dir / "user_password"; }
  std::filesystem::path known_hosts() const { return env_dir / "known_hosts"; }
  std::filesystem::path recorded_plan() const { return env_dir / "plan.json"; }     // the plan `up` last ran
  std::filesystem::path last_snapshot() const { return env_dir / "snapshot.json"; } // what the last snapshot held
  // The page `open` hands the browser (it holds the login URL) when there is no private runtime directory.
  std::filesystem::path open_page() const { return env_dir / "open.html"; }
  std::filesystem::path host_ports() const { return env_dir / "ports.json"; } // the "auto" host ports it was given
  // The values of the profile's env, 0600, only while `docker run --env-file` reads them.
  std::filesystem::path run_environment() const { return env_dir / "run.env"; }

  // Every file the launcher makes in secrets_dir and in env_dir: all that `down --purge` deletes.
  std::vector<std::filesystem::path> secret_files() const;
  std::vector<std::filesystem::path> env_files() const;

  // Proves, symbolic links resolved (weakly_canonical), that `path` lies strictly inside
  // state_dir, and returns it; otherwise throws Error naming both. Called before every write,
  // chmod or delete of a path built from an env's name.
  const std::filesystem::path& inside(const std::filesystem::path& path) const;
};

// `state_home` is ${XDG_STATE_HOME:-~/.local/state}, as HostFacts reads it. Its env_dir and
// secrets_dir are proven to lie inside state_dir (a symbolic link out of it is an error).
StateLayout state_layout(const EnvName& env, const std::filesystem::path& state_home);

// Whether `path` lies strictly inside `root`, compared element by element (so "/a/bc" is not in
// "/a/b"); both must be normalized already (no ".", "..", or symbolic links left).
bool is_strictly_inside(const std::filesystem::path& root, const std::filesystem::path& path);

} // namespace launcher::host
