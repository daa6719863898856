#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "patience.hpp"

// Helpers for the end-to-end tests: the real launcher-init, run as root, against real servers.
namespace e2e {

namespace fs = std::filesystem;
using Variables = std::map<std::string, std::string>;
using namespace std::chrono_literals;
using launcher::testing::patient;
using launcher::testing::wait_until;

// True when the test can run: root, and every program on PATH. Otherwise FAILs under
// LAUNCHER_E2E_REQUIRED=1 (CI) and WARNs (the caller returns: a skip) without it.
bool prerequisites_met(const std::vector<std::string>& programs);

class TemporaryDirectory {
public:
  TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory();
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

// A port that was free on 127.0.0.1 a moment ago.
std::uint16_t free_port();

// A uid and gid that no account of this host uses, for the test user.
uid_t free_uid();

struct TestUser {
  std::string name = "lxtest";
  uid_t uid = free_uid();
};

std::string random_hex(std::size_t bytes);

void write_secret(const fs::path& path, const std::string& content, uid_t owner);

std::string read_text(const fs::path& path);

struct ProcessResult {
  int exit_status = -1;
  std::string output; // stdout and stderr together
};

// Runs a program (no shell) to completion.
ProcessResult run_program(const std::vector<std::string>& argv, const Variables& environment = {});

// launcher-init as a child process. In a sandbox it is PID 1 of new PID and mount namespaces, as in
// a container: /etc is a copy of the host's, /run and /home are directories under `root`, so
// nothing on the host changes and every process it starts dies with it.
class Launcher {
public:
  Launcher(const Variables& environment, const std::vector<std::string>& arguments, const fs::path& log_file,
           std::optional<fs::path> sandbox_root = std::nullopt);
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;
  ~Launcher();

  pid_t pid() const { return pid_; }
  // The exit status, or nullopt when it still runs after `bound` (scaled by the load, as wait_until's).
  std::optional<int> wait_for_exit(std::chrono::milliseconds bound);
  std::string output() const { return read_text(log_file_); }

private:
  pid_t pid_ = -1;
  bool exited_ = false;
  fs::path log_file_;
};

// Prepares `root` for a sandboxed Launcher: etc (a copy of /etc), run, home.
void prepare_sandbox(const fs::path& root);

// The environment for launcher-init: PATH plus `settings`.
Variables launcher_environment(const Variables& settings);

ProcessResult run_launcher(const Variables& settings, const std::vector<std::string>& arguments = {});

bool port_accepts(std::uint16_t port);

struct ProcessInfo {
  pid_t pid = 0;
  pid_t parent = 0;
  char state = '?';
  std::string name;
};

std::vector<ProcessInfo> all_processes();
std::vector<ProcessInfo> children_of(pid_t parent);
std::optional<pid_t> child_named(pid_t parent, const std::string& name);
uid_t process_uid(pid_t pid);
// The whole file, "" when the process is gone or the file unreadable.
std::string proc_file(pid_t pid, const std::string& name);

struct FileFacts {
  uid_t uid;
  gid_t gid;
  unsigned mode;
};
FileFacts file_facts(const fs::path& path);

// Writes an ed25519 key pair made with libssh, as the launcher does on the host: `path` (private,
// OpenSSH format) and `path`.pub. Returns the public key line.
std::string generate_ed25519_key(const fs::path& path, uid_t owner);

// A sandbox with the secrets the launcher would mount, for `services` ("ssh", "jupyter,ssh", ...),
// and the settings to start launcher-init on them, listening on free ports of 127.0.0.1.
struct Sandbox {
  explicit Sandbox(const std::string& services);

  std::unique_ptr<Launcher> start(const std::vector<std::string>& arguments = {}) const;
  // Where a path inside the sandbox lies on the host.
  fs::path outside(const fs::path& inside) const { return directory.path() / inside.relative_path(); }
  fs::path log_file() const { return directory.path() / "launcher-init.log"; }

  TemporaryDirectory directory;
  TestUser user;
  fs::path secrets_dir; // launcher-init's default mount point inside
  std::uint16_t ssh_port = free_port();
  std::uint16_t jupyter_port = free_port();
  std::string token = random_hex(32);
  fs::path client_key; // authorized for the user
  Variables settings;
};

} // namespace e2e
