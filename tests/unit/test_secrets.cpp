#include <catch2/catch.hpp>

#include <crypt.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/env_name.hpp"
#include "file_mode.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "plan/plan.hpp"
#include "profile/public_key.hpp"
#include "secrets/env_secrets.hpp"
#include "secrets/generate.hpp"
#include "secrets/state.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::mode_of;
using launcher::testing::require_error;
namespace fs = std::filesystem;
using launcher::testing::TempDir;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

plan::Plan service_plan(const std::string& service, const fs::path& home) {
  plan::Plan plan;
  plan.env = "proj-" + service;
  plan.service = plan::parse_service(service, "test");
  plan.access.secrets_dir = host::state_layout(EnvName::parse(plan.env), home / ".local/state").secrets_dir.string();
  plan.access.jupyter_auth = plan::JupyterAuth::token;
  return plan;
}

const std::string test_key = secrets::generate_host_key("alice@laptop").public_line;

} // namespace

TEST_CASE("tokens are 32 random bytes in hex", "[secrets]") {
  std::string token = secrets::generate_token();
  CHECK(std::regex_match(token, std::regex("[0-9a-f]{64}")));
  CHECK(token != secrets::generate_token());
}

TEST_CASE("passwords avoid look-alike characters", "[secrets]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string password = secrets::generate_password();
    CHECK(std::regex_match(password, std::regex("[a-km-zA-HJ-NP-Z2-9]{24}")));
    seen.insert(password);
  }
  CHECK(seen.size() == 50);
}

TEST_CASE("the Jupyter hash is argon2id in Jupyter Server's format and verifies", "[secrets]") {
  std::string hash = secrets::jupyter_password_hash("correct horse");
  REQUIRE(hash.rfind("argon2:$argon2id$v=19$", 0) == 0);
  std::string sodium_hash = hash.substr(7);
  CHECK(crypto_pwhash_str_verify(sodium_hash.c_str(), "correct horse", 13) == 0);
  CHECK(crypto_pwhash_str_verify(sodium_hash.c_str(), "wrong horse", 11) != 0);
}

TEST_CASE("the login hash is yescrypt and verifies with libcrypt", "[secrets]") {
  std::string hash = secrets::crypt_password_hash("s3cret");
  REQUIRE(hash.rfind("$y$", 0) == 0);
  crypt_data data{};
  CHECK(std::string(crypt_rn("s3cret", hash.c_str(), &data, sizeof data)) == hash);
  CHECK(std::string(crypt_rn("other", hash.c_str(), &data, sizeof data)) != hash);
}

TEST_CASE("a generated host key is ed25519 and its fingerprint matches its public line", "[secrets]") {
  secrets::HostKey key = secrets::generate_host_key("launcher-proj-ssh");
  CHECK(key.private_key.rfind("-----BEGIN OPENSSH PRIVATE KEY-----", 0) == 0);
  CHECK(key.public_line.rfind("ssh-ed25519 ", 0) == 0);
  CHECK(key.public_line.substr(key.public_line.size() - 18) == " launcher-proj-ssh");
  CHECK(key.fingerprint.rfind("SHA256:", 0) == 0);
  CHECK(secrets::public_key_fingerprint(key.public_line) == key.fingerprint);
  require_error([] { secrets::public_key_fingerprint("ssh-ed25519 bm90IGEga2V5"); }, ExitCode::usage,
                "not an OpenSSH public key: \"ssh-ed25519 bm90IGEga2V5\"");
}

TEST_CASE("literal public keys are told from key files", "[secrets]") {
  CHECK(profile::is_literal_public_key(test_key));
  CHECK(profile::is_literal_public_key("ecdsa-sha2-nistp256 AAAAE2VjZHNh"));
  CHECK_FALSE(profile::is_literal_public_key("~/.ssh/id_ed25519.pub"));
  CHECK_FALSE(profile::is_literal_public_key("keys/ssh-team.pub"));
}

TEST_CASE("secret files are written whole with mode 0600 in 0700 directories", "[secrets]") {
  TempDir home;
  fs::path dir = home.path / "a/b/c";
  secrets::ensure_private_dir(dir);
  CHECK(mode_of(home.path / "a") == 0700);
  CHECK(mode_of(dir) == 0700);
  secrets::write_private_file(dir / "token", "abc");
  secrets::write_private_file(dir / "token", "def");
  CHECK(read(dir / "token") == "def");
  CHECK(mode_of(dir / "token") == 0600);
  // No temporary file is left beside it.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  fs::permissions(dir, fs::perms(0755));
  secrets::ensure_private_dir(dir);
  CHECK(mode_of(dir) == 0700);
}

TEST_CASE("a write that cannot finish leaves nothing half-written behind", "[secrets]") {
  TempDir home;
  require_error([&] { secrets::write_private_file(home.path / "missing-dir" / "token", "new"); }, ExitCode::failed,
                "failed to create a file in: " + (home.path / "missing-dir").string() + ": No such file or directory");
  // The final rename fails when a non-empty directory holds the name: the temporary file goes too.
  fs::create_directories(home.path / "token/inside");
  require_error([&] { secrets::write_private_file(home.path / "token", "new"); }, ExitCode::failed,
                "failed to replace: " + (home.path / "token").string() + ": Is a directory");
  CHECK(std::distance(fs::directory_iterator(home.path), fs::directory_iterator()) == 1);
  CHECK(fs::exists(home.path / "token/inside"));
}

TEST_CASE("the state directory follows XDG_STATE_HOME", "[secrets]") {
  host::StateLayout layout = host::state_layout(EnvName::parse("proj-ssh"), "/home/alice/.local/state");
  CHECK(layout.env_dir == "/home/alice/.local/state/launcher/envs/proj-ssh");
  CHECK(layout.secrets_dir == "/home/alice/.local/state/launcher/envs/proj-ssh/secrets");
  CHECK(layout.user_password().parent_path() == layout.env_dir); // plaintext stays out of the mount
  CHECK(layout.jupyter_password().parent_path() == layout.env_dir);
}

TEST_CASE("a Jupyter environment gets a token without a newline, kept across ups", "[secrets]") {
  TempDir home;
  plan::Plan plan = service_plan("jupyter", home.path);
  secrets::EnvSecrets first = secrets::ensure_env_secrets(plan, home.path);
  REQUIRE(first.jupyter_token);
  fs::path token_file = fs::path(plan.access.secrets_dir) / "jupyter_token";
  CHECK(read(token_file) == *first.jupyter_token);
  CHECK(read(token_file).find('\n') == std::string::npos);
  CHECK(mode_of(token_file) == 0600);
  CHECK(secrets::ensure_env_secrets(plan, home.path).jupyter_token == first.jupyter_token);
  CHECK_FALSE(first.jupyter_password);

  plan.access.jupyter_auth = plan::JupyterAuth::password;
  secrets::EnvSecrets password = secrets::ensure_env_secrets(plan, home.path);
  REQUIRE(password.jupyter_password);
  std::string hash = read(fs::path(plan.access.secrets_dir) / "jupyter_password_hash");
  CHECK(crypto_pwhash_str_verify(hash.substr(7).c_str(), password.jupyter_password->c_str(),
                                 password.jupyter_password->size()) == 0);
  // The plaintext is never in the mounted directory.
  for (const auto& entry : fs::directory_iterator(plan.access.secrets_dir))
    CHECK(read(entry.path()).find(*password.jupyter_password) == std::string::npos);
}

TEST_CASE("an SSH environment keeps its host key and takes keys from the profile or ~/.ssh", "[secrets]") {
  TempDir home;
  plan::Plan plan = service_plan("ssh", home.path);
  require_error(
      [&] { secrets::ensure_env_secrets(plan, home.path); }, ExitCode::usage,
      "no SSH public key to log in with: none in " + (home.path / ".ssh").string() +
          "/*.pub; make one with `ssh-keygen -t ed25519`, or list key files or keys in the profile's \"ssh\": "
          "{\"authorized_keys\": [...]}");
  fs::create_directories(home.path / ".ssh");
  std::ofstream(home.path / ".ssh/id_ed25519.pub") << "# my laptop\n" << test_key << "\n";
  secrets::EnvSecrets first = secrets::ensure_env_secrets(plan, home.path);
  REQUIRE(first.host_key_fingerprint);
  CHECK(read(fs::path(plan.access.secrets_dir) / "authorized_keys") == test_key + "\n");
  CHECK(secrets::ensure_env_secrets(plan, home.path).host_key_fingerprint == first.host_key_fingerprint);
  host::StateLayout layout = host::state_layout(EnvName::parse(plan.env), home.path / ".local/state");
  CHECK(read(layout.known_hosts()).rfind("launcher-proj-ssh ssh-ed25519 ", 0) == 0);

  std::string other = secrets::generate_host_key("ci").public_line;
  plan.access.authorized_keys = {other};
  secrets::ensure_env_secrets(plan, home.path);
  CHECK(read(fs::path(plan.access.secrets_dir) / "authorized_keys") == other + "\n");

  plan.access.authorized_keys = {(home.path / "nope.pub").string()};
  require_error([&] { secrets::ensure_env_secrets(plan, home.path); }, ExitCode::usage,
                "authorized key file " + (home.path / "nope.pub").string() + " does not exist");
  std::ofstream(home.path / "bad.pub") << "ssh-ed25519 bm90IGEga2V5\n";
  plan.access.authorized_keys = {(home.path / "bad.pub").string()};
  require_error([&] { secrets::ensure_env_secrets(plan, home.path); }, ExitCode::usage,
                (home.path / "bad.pub").string() + ": not an OpenSSH public key: \"ssh-ed25519 bm90IGEga2V5\"");
}

TEST_CASE("password login gets a random password whose hash alone is mounted", "[secrets]") {
  TempDir home;
  plan::Plan plan = service_plan("ssh", home.path);
  plan.access.authorized_keys = {test_key};
  plan.access.ssh_password = true;
  secrets::EnvSecrets secrets = secrets::ensure_env_secrets(plan, home.path);
  REQUIRE(secrets.user_password);
  std::string hash = read(fs::path(plan.access.secrets_dir) / "user_password_hash");
  crypt_data data{};
  CHECK(std::string(crypt_rn(secrets.user_password->c_str(), hash.c_str(), &data, sizeof data)) == hash);
  plan.access.ssh_password = false;
  CHECK_FALSE(secrets::ensure_env_secrets(plan, home.path).user_password);
  CHECK_FALSE(fs::exists(fs::path(plan.access.secrets_dir) / "user_password_hash"));
}

TEST_CASE("rotate replaces the token and keeps the host key unless asked", "[secrets]") {
  TempDir home;
  plan::Plan jupyter = service_plan("jupyter", home.path);
  std::string token = *secrets::ensure_env_secrets(jupyter, home.path).jupyter_token;
  host::StateLayout layout = host::state_layout(EnvName::parse(jupyter.env), home.path / ".local/state");
  CHECK(*secrets::rotate_env_secrets(layout, jupyter.env, false).jupyter_token != token);

  plan::Plan ssh = service_plan("ssh", home.path);
  ssh.access.authorized_keys = {test_key};
  std::string fingerprint = *secrets::ensure_env_secrets(ssh, home.path).host_key_fingerprint;
  host::StateLayout ssh_layout = host::state_layout(EnvName::parse(ssh.env), home.path / ".local/state");
  CHECK(*secrets::rotate_env_secrets(ssh_layout, ssh.env, false).host_key_fingerprint == fingerprint);
  CHECK(*secrets::rotate_env_secrets(ssh_layout, ssh.env, true).host_key_fingerprint != fingerprint);

  host::StateLayout missing = host::state_layout(EnvName::parse("nothing-here"), home.path / ".local/state");
  require_error([&] { secrets::read_env_secrets(missing, "nothing-here"); }, ExitCode::failed,
                "environment \"nothing-here\" has no secrets (looked in " + missing.secrets_dir.string() +
                    "); `launcher up` creates them");
}

TEST_CASE("damaged or missing secrets are named, and made anew only for a new container", "[secrets]") {
  TempDir home;
  plan::Plan jupyter = service_plan("jupyter", home.path);
  CHECK(secrets::secret_problems(jupyter) == std::vector<std::string>{"jupyter_token: missing"});
  std::string token = *secrets::ensure_env_secrets(jupyter, home.path).jupyter_token;
  CHECK(secrets::secret_problems(jupyter).empty());
  host::StateLayout layout = host::state_layout(EnvName::parse(jupyter.env), home.path / ".local/state");
  std::ofstream(layout.jupyter_token()) << "half a tok\n";
  jupyter.access.jupyter_auth = plan::JupyterAuth::password;
  CHECK(secrets::secret_problems(jupyter) ==
        std::vector<std::string>{"jupyter_token: not a token (empty, or with white space)",
                                 "jupyter_password_hash: missing"});
  // ensure_env_secrets serves a new container: it replaces what is damaged, keeps what is sound.
  std::string replaced = *secrets::ensure_env_secrets(jupyter, home.path).jupyter_token;
  CHECK(replaced != token);
  CHECK(replaced.size() == 64);
  CHECK(secrets::secret_problems(jupyter).empty());

  fs::create_directories(home.path / ".ssh");
  std::ofstream(home.path / ".ssh/id_ed25519.pub") << test_key << "\n";
  plan::Plan ssh = service_plan("ssh", home.path);
  std::string fingerprint = *secrets::ensure_env_secrets(ssh, home.path).host_key_fingerprint;
  host::StateLayout ssh_layout = host::state_layout(EnvName::parse(ssh.env), home.path / ".local/state");
  std::ofstream(ssh_layout.host_key()) << "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n";
  CHECK(secrets::secret_problems(ssh) ==
        std::vector<std::string>{"ssh_host_ed25519_key: not a private key libssh can read"});
  CHECK(*secrets::ensure_env_secrets(ssh, home.path).host_key_fingerprint != fingerprint);
}

TEST_CASE("what follows from the host key and the profile is rebuilt, nothing secret changes", "[secrets]") {
  TempDir home;
  fs::create_directories(home.path / ".ssh");
  std::ofstream(home.path / ".ssh/id_ed25519.pub") << test_key << "\n";
  plan::Plan ssh = service_plan("ssh", home.path);
  secrets::ensure_env_secrets(ssh, home.path);
  host::StateLayout layout = host::state_layout(EnvName::parse(ssh.env), home.path / ".local/state");
  std::string private_key = read(layout.host_key()), public_line = read(layout.host_public_key()),
              known = read(layout.known_hosts());
  fs::remove(layout.known_hosts());
  std::ofstream(layout.host_public_key()) << "damaged";
  fs::remove(layout.authorized_keys());
  secrets::repair_derived_files(ssh, home.path);
  CHECK(read(layout.host_key()) == private_key);
  CHECK(read(layout.host_public_key()) == public_line);
  CHECK(read(layout.known_hosts()) == known);
  CHECK(read(layout.authorized_keys()) == test_key + "\n");
  CHECK(mode_of(layout.known_hosts()) == 0600);
}

TEST_CASE("parallel rotates under the env's lock leave every password matching its hash, and one host key",
          "[secrets][rotate]") {
  TempDir home;
  fs::create_directories(home.path / ".ssh");
  std::ofstream(home.path / ".ssh/id_ed25519.pub") << test_key << "\n";
  plan::Plan jupyter = service_plan("jupyter", home.path);
  jupyter.env = "race-env";
  jupyter.access.secrets_dir =
      host::state_layout(EnvName::parse("race-env"), home.path / ".local/state").secrets_dir.string();
  jupyter.access.jupyter_auth = plan::JupyterAuth::password;
  secrets::ensure_env_secrets(jupyter, home.path);
  plan::Plan ssh = jupyter;
  ssh.service = plan::Service::ssh;
  ssh.access.ssh_password = true;
  secrets::ensure_env_secrets(ssh, home.path); // the same env now holds every kind of secret
  host::StateLayout layout = host::state_layout(EnvName::parse("race-env"), home.path / ".local/state");

  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> rotates;
    std::vector<std::string> failures(6);
    for (int i = 0; i < 6; ++i)
      rotates.emplace_back([&, i] {
        try {
          std::ostringstream notices;
          lifecycle::EnvironmentLock lock(layout, notices); // what `secret rotate` takes
          secrets::rotate_env_secrets(layout, "race-env", i % 2 == 0);
        } catch (const std::exception& error) {
          failures[i] = error.what();
        }
      });
    for (auto& thread : rotates)
      thread.join();
    CHECK(failures == std::vector<std::string>(6));
    CHECK(secrets::password_matches(read(layout.jupyter_password()), read(layout.jupyter_password_hash())));
    CHECK(secrets::password_matches(read(layout.user_password()), read(layout.user_password_hash())));
    auto key = secrets::read_host_key(read(layout.host_key()), secrets::host_key_alias("race-env"));
    REQUIRE(key);
    CHECK(read(layout.host_public_key()) == key->public_line + "\n");
    CHECK(read(layout.known_hosts()) == "launcher-race-env " + key->public_line + "\n");
    // No temporary file is left beside the secrets.
    for (const auto& dir : {layout.env_dir, layout.secrets_dir})
      for (const auto& entry : fs::directory_iterator(dir))
        CHECK(entry.path().filename().string()[0] != '.');
  }
  CHECK_FALSE(secrets::password_matches("not-the-password", read(layout.jupyter_password_hash())));
  CHECK_FALSE(secrets::password_matches("not-the-password", read(layout.user_password_hash())));
  // What `secret show` reads without the lock: refused when caught between a rotate's renames.
  REQUIRE(secrets::read_agreeing_secrets(layout, "race-env"));
  std::string password = read(layout.user_password());
  secrets::write_private_file(layout.user_password(), "not-the-password");
  CHECK_FALSE(secrets::read_agreeing_secrets(layout, "race-env"));
  secrets::write_private_file(layout.user_password(), password);
  secrets::write_private_file(layout.known_hosts(), "launcher-race-env " + test_key + "\n");
  CHECK_FALSE(secrets::read_agreeing_secrets(layout, "race-env"));
}
