#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "launcher_contract/contract.hpp"
#include "launcher_contract/service.hpp"

namespace launcher_init {

using Environment = std::map<std::string, std::string, std::less<>>;

using launcher::contract::Service;

// What sshd lets a logged-in user hand over; off unless the profile asks. TCP forwarding is always
// on: VS Code Remote-SSH needs it.
struct SshForwarding {
  bool agent = false;        // AllowAgentForwarding
  bool stream_local = false; // AllowStreamLocalForwarding (Unix sockets)
  bool user_rc = false;      // PermitUserRC (~/.ssh/rc runs at login)
};

// When the env stops itself for want of use (profile key "idle"): nothing busy for `stop_after`.
struct IdleSettings {
  std::chrono::seconds stop_after{0};
  int gpu_util_below = 5; // percent: a GPU at or above it counts as in use
};

// Everything launcher-init is told through LAUNCHER_* variables (none of them secret).
struct Settings {
  std::vector<Service> services;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::optional<std::string> workdir; // nullopt: the user's home
  bool sudo = false;
  // LAUNCHER_READ_ONLY_ROOT=1: /etc cannot change, so the user goes into the extrausers files
  // (libnss-extrausers) on the /run/launcher tmpfs instead of /etc/passwd and its kin.
  bool read_only_root = false;
  // The read-only mount of the host's secrets. Its files belong to the host user, whose uid the
  // user shares, so launcher-init makes its parent root-only before anything of the user runs.
  std::filesystem::path secrets_dir = launcher::contract::mount::secrets_dir;
  // Prefix of every path launcher-init writes or deletes; empty inside a container.
  std::filesystem::path root;
  std::optional<std::string> listen_address; // nullopt: all interfaces
  std::uint16_t jupyter_port = 8888;
  std::uint16_t ssh_port = 22;
  SshForwarding ssh_forwarding;
  std::chrono::seconds stop_timeout{8};        // below `docker stop`'s 10 s grace period
  std::optional<IdleSettings> idle;            // nullopt: never stops for being idle
  std::optional<std::chrono::seconds> max_age; // nullopt: runs as long as it is used
  std::string program_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  bool runs_as_root() const { return uid == 0; }
  bool has(Service service) const;
  // `absolute` as seen by launcher-init, i.e. below `root`.
  std::filesystem::path under_root(const std::filesystem::path& absolute) const;
};

Settings parse_settings(const Environment& environment);

Environment parse_environment(const char* const* envp);

struct Invocation {
  enum class Mode { run, health };
  Mode mode = Mode::run;
  std::vector<std::string> command; // the container's CMD, for LAUNCHER_SERVICE=command
};

// `launcher-init health` checks the services; `launcher-init [--] ARGS...` runs them.
Invocation parse_arguments(std::span<const std::string_view> arguments);

// Arguments are accepted only where the service uses them.
void check_invocation(const Settings& settings, const Invocation& invocation);

} // namespace launcher_init
