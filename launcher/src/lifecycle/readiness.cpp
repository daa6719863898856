#include "lifecycle/readiness.hpp"

#include <unistd.h>

#include <ostream>
#include <thread>

#include "core/error.hpp"
#include "lifecycle/inspect.hpp"
#include "probe/probe.hpp"
#include "process/process.hpp"

namespace launcher::lifecycle {

namespace {

probe::Observation look(const ReadinessTarget& target) {
  switch (target.service) {
  case plan::Service::jupyter:
    return probe::probe_jupyter(target.host, target.port, target.token);
  case plan::Service::ssh:
    return probe::probe_ssh(target.host, target.port, target.user, target.pinned_public_line, target.password_allowed);
  case plan::Service::shell:
  case plan::Service::command:
    break;
  }
  return {probe::Observation::State::ready, "running"}; // shell and command: running is ready
}

[[noreturn]] void fail(const engine::Engine& engine, const std::string& container, const std::string& cause) {
  throw Error(ExitCode::failed,
              cause + "\n--- last 40 lines of " + container + "'s log ---\n" + engine.logs_tail(container, 40) +
                  "--- the container is kept for inspection; `launcher down " + container + " --force` removes it");
}

} // namespace

void wait_until_ready(const engine::Engine& engine, const std::string& container, const ReadinessTarget& target,
                      std::chrono::seconds timeout, std::ostream& progress, const std::function<bool()>& interrupted,
                      const Clock& clock) {
  // Polled often: the wait is what users feel. The container's state costs a process spawn,
  // so it is checked once a second.
  constexpr auto poll_interval = std::chrono::milliseconds(10);
  constexpr auto state_interval = std::chrono::seconds(1);
  bool terminal = isatty(STDERR_FILENO);
  auto start = clock.now();
  // A container that dies at once also refuses connections: the first look can wait a second.
  auto next_state_check = start + state_interval;
  auto next_progress = start + std::chrono::seconds(1);
  std::string last_detail;
  while (true) {
    probe::Observation observation = look(target);
    if (observation.state == probe::Observation::State::ready) break;
    if (observation.state == probe::Observation::State::broken)
      fail(engine, container, "refusing " + container + ": " + observation.detail);
    last_detail = observation.detail;
    auto now = clock.now();
    if (now >= next_state_check) {
      auto state = engine.inspect_container(container);
      if (!state) throw Error(ExitCode::failed, "container " + container + " disappeared while starting");
      if (!is_running(*state))
        fail(engine, container, "container " + container + " stopped during startup: " + status_of(*state));
      next_state_check = now + state_interval;
    }
    if (interrupted()) {
      int signal = process::last_interrupt_signal();
      throw process::Interrupted(signal, "interrupted by " + process::signal_name(signal) + " while waiting for " +
                                             plan::name(target.service) + " in " + container);
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - start);
    if (elapsed >= timeout)
      fail(engine, container,
           "timed out after " + std::to_string(timeout.count()) + " s waiting for " + plan::name(target.service) +
               " in " + container + ": " + last_detail);
    if (now >= next_progress) {
      progress << (terminal ? "\r" : "") << "waiting for " << plan::name(target.service) << " (" << elapsed.count()
               << " s): " << last_detail << (terminal ? "\033[K" : "\n") << std::flush;
      next_progress = now + std::chrono::seconds(terminal ? 1 : 5);
    }
    clock.sleep_for(poll_interval);
  }
  if (terminal) progress << "\r\033[K" << std::flush;
}

} // namespace launcher::lifecycle
