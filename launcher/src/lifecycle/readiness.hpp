#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>

#include "core/clock.hpp"
#include "engine/engine.hpp"
#include "plan/choices.hpp"

namespace launcher::lifecycle {

// What "ready" means for one environment: its service answers as it must.
struct ReadinessTarget {
  plan::Service service = plan::Service::shell;
  std::string host;
  int port = 0;
  std::string token;              // jupyter
  std::string user;               // ssh
  std::string pinned_public_line; // ssh
  bool password_allowed = false;  // ssh
};

// Polls the service until it is ready. Throws Error (exit 1) when the container exits, the
// service answers insecurely or the timeout passes (the message holds the cause and the
// container's last 40 log lines, escaped), and process::Interrupted when `interrupted()` turns
// true. Progress goes to `progress`.
void wait_until_ready(const engine::Engine& engine, const std::string& container, const ReadinessTarget& target,
                      std::chrono::seconds timeout, std::ostream& progress, const std::function<bool()>& interrupted,
                      const Clock& clock = system_clock());

} // namespace launcher::lifecycle
