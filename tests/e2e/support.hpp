#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <libssh/libssh.h>
#include <nlohmann/json.hpp>

#include "patience.hpp"
#include "plan/plan.hpp"
#include "process/process.hpp"
#include "temp_dir.hpp"

namespace launcher::e2e {

namespace fs = std::filesystem;
using launcher::testing::patient;
using launcher::testing::TempDir;
using launcher::testing::wait_until;

// What a test runs and reads: the build's launcher and source tree, or the copies that
// tests/e2e/under-podman.sh makes for a user who cannot read the build (LAUNCHER_E2E_BINARY,
// LAUNCHER_E2E_SOURCE_DIR).
inline std::string configured_or(const char* variable, const char* built) {
  const char* configured = std::getenv(variable);
  return configured && *configured ? configured : built;
}
inline const std::string& launcher_binary() {
  static const std::string path = configured_or("LAUNCHER_E2E_BINARY", LAUNCHER_BINARY);
  return path;
}
inline const std::string& source_dir() {
  static const std::string path = configured_or("LAUNCHER_E2E_SOURCE_DIR", LAUNCHER_SOURCE_DIR);
  return path;
}
inline fs::path fixtures_dir() { return fs::path(source_dir()) / "tests/fixtures"; }

inline std::string docker() {
  const char* configured = std::getenv("LAUNCHER_DOCKER");
  return configured && *configured ? configured : "docker";
}

// The image containers are created from: the offline Debian base made by images/make-base.sh.
inline std::string base_image() {
  const char* configured = std::getenv("LAUNCHER_E2E_BASE_IMAGE");
  return configured && *configured ? configured : "launcher-base:bookworm";
}

// A missing prerequisite skips the test (exit 77, which CTest reports as skipped), unless CI
// requires every test to run.
inline void skip_or_fail(const std::string& why) {
  const char* required = std::getenv("LAUNCHER_E2E_REQUIRED");
  if (required && std::string(required) == "1") FAIL(why + " (LAUNCHER_E2E_REQUIRED=1)");
  std::cerr << "SKIPPED: " << why << "\n";
  std::exit(77);
}

inline void require_engine() {
  process::ProcessResult info;
  try {
    info = process::run_process({docker(), "info", "--format", "{{json .}}"}); // Docker's and Podman's shapes differ
  } catch (const std::exception& error) {
    skip_or_fail(std::string("no Docker CLI: ") + error.what());
  }
  if (info.exit_code != 0) skip_or_fail("no Docker engine answers: " + info.err);
  if (process::run_process({docker(), "image", "inspect", base_image()}).exit_code != 0)
    skip_or_fail("base image " + base_image() + " is missing: run images/make-base.sh");
}

// The image the lifecycle tests start: $LAUNCHER_E2E_IMAGE, else the tag `make image` recorded.
inline std::string lifecycle_image() {
  const char* configured = std::getenv("LAUNCHER_E2E_IMAGE");
  if (configured && *configured) return configured;
  std::ifstream recorded(LAUNCHER_IMAGE_TAG_FILE);
  std::string tag;
  std::getline(recorded, tag);
  return tag;
}

inline void require_lifecycle_image() {
  std::string image = lifecycle_image();
  bool present = !image.empty() && process::run_process({docker(), "image", "inspect", image}).exit_code == 0;
  if (!present)
    skip_or_fail("the lifecycle image " + (image.empty() ? std::string("(none recorded)") : image) +
                 " is missing: run `make image`");
}

// Gives launchers started from now on user config and state directories inside `dir`.
inline void use_state_in(const TempDir& dir) {
  setenv("XDG_CONFIG_HOME", (dir.path / ".config").c_str(), 1);
  setenv("XDG_STATE_HOME", (dir.path / ".state").c_str(), 1);
}

// Runs the built launcher in `dir`, with user config and state directories of its own, and
// NAME=VALUE variables added to its environment.
inline process::ProcessResult run_launcher(const TempDir& dir, std::vector<std::string> args,
                                           std::vector<std::string> extra_env = {}) {
  use_state_in(dir);
  args.insert(args.begin(), launcher_binary());
  process::ProcessOptions options;
  options.working_dir = dir.path.string();
  options.extra_env = std::move(extra_env);
  return process::run_process(args, options);
}

// `launcher exec ENV -- COMMAND...`, which must succeed: its standard output.
inline std::string exec_in(const TempDir& dir, const std::string& env, std::vector<std::string> command) {
  std::vector<std::string> args{"exec", env, "--"};
  args.insert(args.end(), command.begin(), command.end());
  auto result = run_launcher(dir, args);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result.out;
}

// The command lines of every process now, NULs shown as spaces, each with its PID.
inline std::vector<std::string> all_command_lines() {
  std::vector<std::string> lines;
  std::error_code error;
  for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    std::string pid = it->path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(it->path() / "cmdline", std::ios::binary);
    std::string line((std::istreambuf_iterator<char>(file)), {});
    std::replace(line.begin(), line.end(), '\0', ' ');
    lines.push_back(pid + ": " + line);
  }
  return lines;
}

// Standard error less the "launcher: warning:" lines (and their indented fix lines) that `up`
// prints for doctor's WARNs on this host, so a test can compare the error itself.
inline std::string without_warnings(const std::string& err) {
  std::string kept, line;
  bool in_warning = false;
  for (std::size_t start = 0; start < err.size();) {
    std::size_t end = err.find('\n', start);
    end = end == std::string::npos ? err.size() : end + 1;
    line = err.substr(start, end - start);
    start = end;
    if (line.rfind("launcher: warning: ", 0) == 0)
      in_warning = true;
    else if (line.rfind("  ", 0) != 0)
      in_warning = false;
    if (!in_warning) kept += line;
  }
  return kept;
}

// The launchers a test starts run as root through sudo by `uid` (SUDO_UID, SUDO_GID), as a user's
// `sudo launcher` from a project that user owns does; put back when the test ends.
struct SudoBy {
  SudoBy(unsigned uid, unsigned gid) {
    setenv("SUDO_UID", std::to_string(uid).c_str(), 1);
    setenv("SUDO_GID", std::to_string(gid).c_str(), 1);
  }
  ~SudoBy() {
    unsetenv("SUDO_UID");
    unsetenv("SUDO_GID");
  }
  SudoBy(const SudoBy&) = delete;
  SudoBy& operator=(const SudoBy&) = delete;
};

// An environment `up` started, taken down with --force when the test ends, pass or fail.
struct UpEnvironment {
  const TempDir& dir;
  std::string name;
  ~UpEnvironment() { run_launcher(dir, {"down", name, "--force"}); }
};

// `launcher up --json` of the lifecycle image with ARGS, which must succeed.
inline nlohmann::json up(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"up", "--json", "--image", lifecycle_image(), "--timeout", "180"});
  auto result = run_launcher(dir, args);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(result.out);
}

// A client key pair made for the test, and its line for a profile's authorized_keys.
struct ClientKey {
  ssh_key key = nullptr;
  std::string public_line;
  ClientKey() {
    REQUIRE(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK);
    char* base64 = nullptr;
    REQUIRE(ssh_pki_export_pubkey_base64(key, &base64) == SSH_OK);
    public_line = std::string("ssh-ed25519 ") + base64 + " e2e";
    ssh_string_free_char(base64);
  }
  ~ClientKey() { ssh_key_free(key); }
  ClientKey(const ClientKey&) = delete;
  ClientKey& operator=(const ClientKey&) = delete;
};

// A team file in `dir` whose profile "remote" is the built-in ssh one without GPUs on a free
// port, letting in `client`, with `fields` added.
inline void write_remote_profile(const TempDir& dir, const ClientKey& client,
                                 nlohmann::json fields = nlohmann::json::object()) {
  nlohmann::json remote{{"extends", "ssh"},
                        {"gpus", "none"},
                        {"ports", {{{"host", "auto"}, {"container", 22}}}},
                        {"ssh", {{"authorized_keys", {client.public_line}}}}};
  remote.update(fields, true);
  dir.write("launcher.json", nlohmann::json{{"version", 1}, {"profiles", {{"remote", remote}}}}.dump());
}

// Removes an environment's container and its own network, whatever state they are in: left
// behind, networks take up Docker's address ranges until no new one can be made.
inline void remove_container_and_network(const std::string& name) {
  process::run_process({docker(), "rm", "-f", name});
  process::run_process({docker(), "network", "rm", plan::own_network(name)});
}

// Removes the container and its network when the test ends, pass or fail.
struct ContainerGuard {
  std::string name;
  ~ContainerGuard() { remove_container_and_network(name); }
};

// Whether the engine the tests drive is Podman (LAUNCHER_DOCKER=podman): its checks differ
// where the engines do.
inline bool engine_is_podman() { return fs::path(docker()).filename() == "podman"; }

// The env user of the tests that name one. As root (Docker, as CI runs them), uid 4242: the user
// whose `sudo launcher` a test plays. As anyone else (rootless Podman), that user: the one uid a
// rootless engine maps to itself on the host, so the only owner a volume's files can show.
struct TestUser {
  unsigned uid = 4242, gid = 4242;
  nlohmann::json profile_user(const std::string& name) const { return {{"uid", uid}, {"gid", gid}, {"name", name}}; }
  std::string ids() const { return std::to_string(uid) + ":" + std::to_string(gid); }
};
inline TestUser test_user() { return geteuid() == 0 ? TestUser{} : TestUser{geteuid(), getegid()}; }

inline std::string unique_name(const std::string& stem) { return "e2e-" + stem + "-" + std::to_string(getpid()); }

} // namespace launcher::e2e
