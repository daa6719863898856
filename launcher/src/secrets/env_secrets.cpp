#include "secrets/env_secrets.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"
#include "profile/public_key.hpp"
#include "secrets/generate.hpp"
#include "secrets/state.hpp"

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

// Each writes one secret anew (the env names the host key's alias; the others ignore it); a
// password and its hash are replaced together.
void write_token(const host::StateLayout& layout, const std::string&) {
  write_private_file(layout.inside(layout.jupyter_token()), generate_token());
}

void write_host_key(const host::StateLayout& layout, const std::string& env) {
  write_private_file(layout.inside(layout.host_key()), generate_host_key(host_key_alias(env)).private_key);
  repair_host_key_files(layout, env);
}

void write_password(const fs::path& hash_file, const fs::path& password_file, std::string (*hash)(const std::string&),
                    const host::StateLayout& layout) {
  std::string password = generate_password();
  StagedFiles staged;
  staged.stage(layout.inside(hash_file), hash(password));
  staged.stage(layout.inside(password_file), password);
  staged.commit();
}

void write_jupyter_password(const host::StateLayout& layout, const std::string&) {
  write_password(layout.jupyter_password_hash(), layout.jupyter_password(), jupyter_password_hash, layout);
}

void write_user_password(const host::StateLayout& layout, const std::string&) {
  write_password(layout.user_password_hash(), layout.user_password(), crypt_password_hash, layout);
}

// The plan's secrets directory is state_dir/envs/<env>/secrets (host::state_layout made it).
host::StateLayout layout_of(const plan::Plan& plan) {
  fs::path secrets_dir = plan.access.secrets_dir;
  host::StateLayout layout{secrets_dir.parent_path().parent_path().parent_path(), secrets_dir.parent_path(),
                           secrets_dir};
  if (!secrets_dir.empty()) layout.inside(layout.secrets_dir); // empty: a service without secrets
  return layout;
}

// Why a stored secret cannot be used as it is; empty when it can. Each check is what
// launcher-init or sshd would refuse.
using SecretCheck = std::string (*)(const std::string& text);
std::string token_problem(const std::string& text) {
  return text.empty() || text.find_first_of(" \t\r\n") != std::string::npos ? "not a token (empty, or with white space)"
                                                                            : "";
}
std::string jupyter_hash_problem(const std::string& text) {
  return starts_with(text, "argon2:") ? "" : "not an argon2 password hash";
}
std::string crypt_hash_problem(const std::string& text) {
  return starts_with(text, "$") ? "" : "not a crypt(3) password hash";
}
std::string host_key_problem(const std::string& text) {
  return read_host_key(text, "").has_value() ? "" : "not a private key libssh can read";
}

// A secret file the plan's service needs, the check it must pass, and how it is made anew.
struct NeededSecret {
  fs::path file;
  SecretCheck check;
  void (*make)(const host::StateLayout& layout, const std::string& env);
};

std::vector<NeededSecret> needed_secrets(const plan::Plan& plan, const host::StateLayout& layout) {
  if (plan.service == plan::Service::jupyter) {
    std::vector<NeededSecret> needed{{layout.jupyter_token(), token_problem, write_token}};
    if (plan.access.jupyter_auth == plan::JupyterAuth::password)
      needed.push_back({layout.jupyter_password_hash(), jupyter_hash_problem, write_jupyter_password});
    return needed;
  }
  if (plan.service == plan::Service::ssh) {
    std::vector<NeededSecret> needed{{layout.host_key(), host_key_problem, write_host_key}};
    if (plan.access.ssh_password)
      needed.push_back({layout.user_password_hash(), crypt_hash_problem, write_user_password});
    return needed;
  }
  return {};
}

// Missing, unreadable or failing its check: the file must be made anew.
std::string problem_of(const fs::path& file, SecretCheck check) {
  std::optional<std::string> text;
  try {
    text = read_private_file(file);
  } catch (const Error& error) {
    return error.what();
  }
  return text ? check(*text) : "missing";
}

void rewrite_if_differs(const host::StateLayout& layout, const fs::path& file, const std::string& content) {
  if (read_private_file(file) != content) write_private_file(layout.inside(file), content);
}

} // namespace

std::vector<std::string> secret_problems(const plan::Plan& plan) {
  std::vector<std::string> problems;
  for (const auto& secret : needed_secrets(plan, layout_of(plan)))
    if (std::string problem = problem_of(secret.file, secret.check); !problem.empty())
      problems.push_back(secret.file.filename().string() + ": " + problem);
  return problems;
}

void repair_host_key_files(const host::StateLayout& layout, const std::string& env) {
  auto stored = read_host_key(read_private_file(layout.host_key()).value_or(""), host_key_alias(env));
  if (!stored) return; // a secret problem, not a derived one: secret_problems names it
  rewrite_if_differs(layout, layout.host_public_key(), stored->public_line + "\n");
  rewrite_if_differs(layout, layout.known_hosts(), host_key_alias(env) + " " + stored->public_line + "\n");
}

void repair_derived_files(const plan::Plan& plan, const fs::path& home) {
  if (plan.service != plan::Service::ssh) return;
  host::StateLayout layout = layout_of(plan);
  repair_host_key_files(layout, plan.env);
  rewrite_if_differs(layout, layout.authorized_keys(), collect_authorized_keys(plan.access.authorized_keys, home));
}

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
    if (profile::is_literal_public_key(source)) {
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
    for (const auto& file : defaults)
      add_file(file);
  }
  if (keys.empty())
    throw Error(ExitCode::usage, "no SSH public key to log in with: none in " + (home / ".ssh").string() +
                                     "/*.pub; make one with `ssh-keygen -t ed25519`, or list key files or keys in the "
                                     "profile's \"ssh\": {\"authorized_keys\": [...]}");
  std::string text;
  for (const auto& key : keys)
    text += key + "\n";
  return text;
}

EnvSecrets ensure_env_secrets(const plan::Plan& plan, const fs::path& home) {
  if (plan.access.secrets_dir.empty()) return {}; // a shell or command env without a backup
  host::StateLayout layout = layout_of(plan);
  ensure_private_dir(layout.env_dir);
  ensure_private_dir(layout.secrets_dir);
  for (const auto& secret : needed_secrets(plan, layout))
    if (!problem_of(secret.file, secret.check).empty()) secret.make(layout, plan.env);
  // A password the profile no longer asks for goes, with its hash.
  if (plan.service == plan::Service::jupyter && plan.access.jupyter_auth != plan::JupyterAuth::password)
    fs::remove(layout.inside(layout.jupyter_password_hash())), fs::remove(layout.inside(layout.jupyter_password()));
  if (plan.service == plan::Service::ssh && !plan.access.ssh_password)
    fs::remove(layout.inside(layout.user_password_hash())), fs::remove(layout.inside(layout.user_password()));
  repair_derived_files(plan, home);
  return read_env_secrets(layout, plan.env);
}

EnvSecrets rotate_env_secrets(const host::StateLayout& layout, const std::string& env, bool host_key) {
  read_env_secrets(layout, env); // the environment must exist
  // Everything new is made and flushed to temporaries before the first rename, so a password is
  // never seen beside an old hash, nor a host key beside an old .pub or known_hosts line.
  StagedFiles staged;
  auto stage = [&](const fs::path& file, const std::string& content) { staged.stage(layout.inside(file), content); };
  if (fs::exists(layout.jupyter_token())) stage(layout.jupyter_token(), generate_token());
  if (fs::exists(layout.jupyter_password_hash())) {
    std::string password = generate_password();
    stage(layout.jupyter_password_hash(), jupyter_password_hash(password));
    stage(layout.jupyter_password(), password);
  }
  if (fs::exists(layout.user_password_hash())) {
    std::string password = generate_password();
    stage(layout.user_password_hash(), crypt_password_hash(password));
    stage(layout.user_password(), password);
  }
  if (host_key && fs::exists(layout.host_key())) {
    HostKey key = generate_host_key(host_key_alias(env));
    stage(layout.host_key(), key.private_key);
    stage(layout.host_public_key(), key.public_line + "\n");
    stage(layout.known_hosts(), host_key_alias(env) + " " + key.public_line + "\n");
  }
  staged.commit();
  return read_env_secrets(layout, env);
}

std::optional<EnvSecrets> read_agreeing_secrets(const host::StateLayout& layout, const std::string& env) {
  EnvSecrets secrets = read_env_secrets(layout, env);
  auto agrees = [](const std::optional<std::string>& password, const fs::path& hash_file) {
    auto hash = read_private_file(hash_file);
    return !password || !hash || password_matches(*password, *hash);
  };
  if (!agrees(secrets.jupyter_password, layout.jupyter_password_hash()) ||
      !agrees(secrets.user_password, layout.user_password_hash()))
    return std::nullopt;
  auto key = read_private_file(layout.host_key());
  auto stored = key ? read_host_key(*key, host_key_alias(env)) : std::nullopt;
  if (!stored) return secrets; // no usable key: nothing derived from it to disagree
  auto known = read_private_file(layout.known_hosts());
  bool key_agrees = (!secrets.host_key_fingerprint || *secrets.host_key_fingerprint == stored->fingerprint) &&
                    (!known || *known == host_key_alias(env) + " " + stored->public_line + "\n");
  return key_agrees ? std::optional<EnvSecrets>(secrets) : std::nullopt;
}

EnvSecrets read_env_secrets(const host::StateLayout& layout, const std::string& env) {
  if (!fs::is_directory(layout.secrets_dir))
    throw Error(ExitCode::failed, "environment \"" + env + "\" has no secrets (looked in " +
                                      layout.secrets_dir.string() + "); `launcher up` creates them");
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
