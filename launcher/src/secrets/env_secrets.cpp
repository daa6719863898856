#include "secrets/env_secrets.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"
#include "secrets/generate.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;

namespace {

// Every key line of one source, each checked; `where` names the source in errors.
std::vector<std::string> key_lines(const std::string& text, const std::string& where) {
  std::vector<std::string> lines;
  for (std::string line : split(text, '\n')) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line[0] == '#') continue;
    try {
      public_key_fingerprint(line);
    } catch (const Error& error) {
      throw Error(ExitCode::usage, where + ": " + error.what());
    }
    lines.push_back(line);
  }
  return lines;
}

void write_host_key(const StateLayout& layout, const std::string& env) {
  HostKey key = generate_host_key(host_key_alias(env));
  write_private_file(layout.host_key(), key.private_key);
  write_private_file(layout.host_public_key(), key.public_line + "\n");
  write_private_file(layout.known_hosts(), host_key_alias(env) + " " + key.public_line + "\n");
}

void write_jupyter_password(const StateLayout& layout) {
  std::string password = generate_password();
  write_private_file(layout.jupyter_password_hash(), jupyter_password_hash(password));
  write_private_file(layout.jupyter_password(), password);
}

void write_user_password(const StateLayout& layout) {
  std::string password = generate_password();
  write_private_file(layout.user_password_hash(), crypt_password_hash(password));
  write_private_file(layout.user_password(), password);
}

} // namespace

std::string host_key_alias(const std::string& env) { return "launcher-" + env; }

std::string collect_authorized_keys(const std::vector<std::string>& sources, const fs::path& home) {
  std::vector<std::string> keys;
  auto add_file = [&](const fs::path& file) {
    auto text = read_private_file(file);
    if (!text) throw Error(ExitCode::usage, "authorized key file " + file.string() + " does not exist");
    auto lines = key_lines(*text, file.string());
    keys.insert(keys.end(), lines.begin(), lines.end());
  };
  for (const auto& source : sources) {
    if (is_literal_public_key(source)) {
      auto lines = key_lines(source, "ssh.authorized_keys");
      keys.insert(keys.end(), lines.begin(), lines.end());
    } else {
      add_file(source);
    }
  }
  if (sources.empty()) {
    std::vector<fs::path> defaults;
    std::error_code error;
    for (fs::directory_iterator it(home / ".ssh", error), end; !error && it != end; it.increment(error))
      if (it->path().extension() == ".pub") defaults.push_back(it->path());
    std::sort(defaults.begin(), defaults.end());
    for (const auto& file : defaults) add_file(file);
  }
  if (keys.empty())
    throw Error(ExitCode::usage, "no SSH public key to log in with: none in " + (home / ".ssh").string() +
                                     "/*.pub; make one with `ssh-keygen -t ed25519`, or list key files or keys in the "
                                     "profile's \"ssh\": {\"authorized_keys\": [...]}");
  std::string text;
  for (const auto& key : keys) text += key + "\n";
  return text;
}

EnvSecrets ensure_env_secrets(const plan::Plan& plan, const fs::path& home) {
  const std::string& service = plan.service;
  if (service != "jupyter" && service != "ssh") return {};
  StateLayout layout{fs::path(plan.access.secrets_dir).parent_path(), plan.access.secrets_dir};
  ensure_private_dir(layout.env_dir);
  ensure_private_dir(layout.secrets_dir);
  if (service == "jupyter") {
    if (!fs::exists(layout.jupyter_token())) write_private_file(layout.jupyter_token(), generate_token());
    bool password_mode = plan.access.jupyter_auth == "password";
    if (password_mode && !fs::exists(layout.jupyter_password_hash())) write_jupyter_password(layout);
    if (!password_mode) fs::remove(layout.jupyter_password_hash()), fs::remove(layout.jupyter_password());
  } else {
    if (!fs::exists(layout.host_key())) write_host_key(layout, plan.env);
    write_private_file(layout.authorized_keys(), collect_authorized_keys(plan.access.authorized_keys, home));
    if (plan.access.ssh_password && !fs::exists(layout.user_password_hash())) write_user_password(layout);
    if (!plan.access.ssh_password) fs::remove(layout.user_password_hash()), fs::remove(layout.user_password());
  }
  return read_env_secrets(layout, plan.env);
}

EnvSecrets rotate_env_secrets(const StateLayout& layout, const std::string& env, bool host_key) {
  read_env_secrets(layout, env); // the environment must exist
  if (fs::exists(layout.jupyter_token())) write_private_file(layout.jupyter_token(), generate_token());
  if (fs::exists(layout.jupyter_password_hash())) write_jupyter_password(layout);
  if (fs::exists(layout.user_password_hash())) write_user_password(layout);
  if (host_key && fs::exists(layout.host_key())) write_host_key(layout, env);
  return read_env_secrets(layout, env);
}

EnvSecrets read_env_secrets(const StateLayout& layout, const std::string& env) {
  if (!fs::is_directory(layout.secrets_dir))
    throw Error(ExitCode::failed, "environment \"" + env + "\" has no secrets (looked in " + layout.secrets_dir.string() +
                                      "); `launcher up` creates them");
  EnvSecrets secrets;
  secrets.jupyter_token = read_private_file(layout.jupyter_token());
  secrets.jupyter_password = read_private_file(layout.jupyter_password());
  secrets.user_password = read_private_file(layout.user_password());
  if (auto public_key = read_private_file(layout.host_public_key())) {
    std::string line = *public_key;
    line.erase(line.find_last_not_of('\n') + 1);
    secrets.host_key_fingerprint = public_key_fingerprint(line);
  }
  return secrets;
}

} // namespace launcher::secrets
