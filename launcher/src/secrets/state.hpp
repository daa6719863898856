#pragma once

#include <filesystem>
#include <optional>
#include <string>


namespace launcher::secrets {

// Where one environment keeps its state. Only `secrets_dir` is ever mounted into the
// container (read-only): plaintext passwords stay outside it, for `secret show` alone.
struct StateLayout {
  std::filesystem::path env_dir;     // ${XDG_STATE_HOME:-~/.local/state}/launcher/envs/<env>, 0700
  std::filesystem::path secrets_dir; // env_dir/secrets, 0700, mounted at container_secrets_dir

  std::filesystem::path jupyter_token() const { return secrets_dir / "jupyter_token"; }
  std::filesystem::path jupyter_password_hash() const { return secrets_dir / "jupyter_password_hash"; }
  std::filesystem::path host_key() const { return secrets_dir / "ssh_host_ed25519_key"; }
  std::filesystem::path host_public_key() const { return secrets_dir / "ssh_host_ed25519_key.pub"; }
  std::filesystem::path authorized_keys() const { return secrets_dir / "authorized_keys"; }
  std::filesystem::path user_password_hash() const { return secrets_dir / "user_password_hash"; }
  std::filesystem::path jupyter_password() const { return env_dir / "jupyter_password"; }
  std::filesystem::path user_password() const { return env_dir / "user_password"; }
  std::filesystem::path known_hosts() const { return env_dir / "known_hosts"; }
  std::filesystem::path recorded_plan() const { return env_dir / "plan.json"; } // the plan `up` last ran
};

// The mount point. Inside, the mount belongs to the user (the host user's uid): launcher-init
// makes its parent root-only and hands each consumer a copy, so code of the user cannot read
// the host key. launcher-init's Settings::secrets_dir names the same path.
inline constexpr const char* container_secrets_dir = "/run/launcher/root-only/secrets";

// `state_home` is ${XDG_STATE_HOME:-~/.local/state}, as HostFacts reads it.
StateLayout state_layout(const std::string& env, const std::filesystem::path& state_home);

// Creates the directory and its missing parents with mode 0700; an existing one that others
// can read, or that belongs to another user, is an error naming it.
void ensure_private_dir(const std::filesystem::path& dir);

// Writes a file of mode 0600 so that it is either wholly old or wholly new: a temporary
// file in the same directory, fsync, rename, fsync of the directory.
void write_private_file(const std::filesystem::path& path, const std::string& content);

std::optional<std::string> read_private_file(const std::filesystem::path& path);

} // namespace launcher::secrets
