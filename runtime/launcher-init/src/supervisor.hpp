#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "files.hpp"
#include "restart_policy.hpp"

namespace launcher_init {

struct ServiceSpec {
  std::string name;              // the prefix of its output lines
  std::vector<std::string> argv; // argv[0] is an absolute path
  std::vector<std::string> environment;
  std::optional<Ownership> run_as; // nullopt: stays root (sshd)
  std::filesystem::path working_directory = "/";
  // A shell or command: keeps the terminal and stdio, is not restarted, and its exit ends
  // launcher-init with its status. Otherwise: restarted with backoff, output prefixed.
  bool foreground = false;
};

// launcher-init's own reason to stop the services, looked at every period() while they run.
class Watch {
public:
  virtual ~Watch() = default;
  virtual std::chrono::milliseconds period() const = 0;
  // The exit status to stop with, or nullopt to keep running. `running`: each running service's
  // name and PID.
  virtual std::optional<int> check(const std::vector<std::pair<std::string, pid_t>>& running) = 0;
  // The services are stopping, for whatever reason: undo what was shown to users.
  virtual void stopping() = 0;
};

struct SupervisorOptions {
  std::chrono::seconds stop_timeout{8};
  RestartPolicy restart_policy;
  Watch* watch = nullptr; // none: the services run until they end or are told to stop
};

// Blocks the signals launcher-init handles; call before any thread or child exists.
void take_over_signals();

// Runs the services until a foreground one exits, SIGTERM/SIGINT asks to stop, or a service
// fails too often; forwards SIGTERM/SIGINT/SIGHUP, reaps every child (orphans included, as PID 1
// or as subreaper), and returns launcher-init's exit status.
int supervise(const std::vector<ServiceSpec>& services, const SupervisorOptions& options);

} // namespace launcher_init
