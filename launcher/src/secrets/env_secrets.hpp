#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "host/state_layout.hpp"
#include "plan/plan.hpp"

namespace launcher::secrets {

// What the user may be shown of one environment's secrets, on request.
struct EnvSecrets {
  std::optional<std::string> jupyter_token;
  std::optional<std::string> jupyter_password;
  std::optional<std::string> user_password;
  std::optional<std::string> host_key_fingerprint;
};

// The host key alias `ssh` and `ssh-config` pin the environment's host key under.
std::string host_key_alias(const std::string& env);

// The authorized_keys text from the profile's sources (public key files or literal keys),
// or from ~/.ssh/*.pub when it names none. Every key is checked with libssh; finding none
// is an error that says how to make one.
std::string collect_authorized_keys(const std::vector<std::string>& sources, const std::filesystem::path& home);

// Makes what the plan's service needs and is missing or damaged (token, password, host key)
// and rewrites authorized_keys from the profile; sound secrets are kept, so a recreated
// container presents the same host key and accepts the same token.
EnvSecrets ensure_env_secrets(const plan::Plan& plan, const std::filesystem::path& home);

// The secrets the plan's service needs that are missing or damaged, "<file>: <why>" each. A
// running container holds the old ones, so `up` makes new ones only when told to (--recreate).
std::vector<std::string> secret_problems(const plan::Plan& plan);

// Rewrites what follows from the sound secrets and the plan when it is missing or damaged:
// the host key's public half, known_hosts, authorized_keys. Nothing secret changes.
void repair_derived_files(const plan::Plan& plan, const std::filesystem::path& home);

// The part of that which follows from the host key alone (its public half, known_hosts), for
// `ssh` and `ssh-config`, which have no plan. Nothing happens while the host key is unusable.
void repair_host_key_files(const host::StateLayout& layout, const std::string& env);

// Replaces the token and the passwords that exist; the host key only when asked.
EnvSecrets rotate_env_secrets(const host::StateLayout& layout, const std::string& env, bool host_key);

// read_env_secrets, when what it read (each file once) agrees with itself: each plaintext password
// with its hash, the host key's public half and known_hosts line with the key. nullopt only when
// it was read between a rotate's renames.
std::optional<EnvSecrets> read_agreeing_secrets(const host::StateLayout& layout, const std::string& env);

// Reads what exists; an environment without a state directory is an error naming it.
EnvSecrets read_env_secrets(const host::StateLayout& layout, const std::string& env);

} // namespace launcher::secrets
