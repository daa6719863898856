#pragma once

// How long a test waits for something that must happen (a port to open, a container to appear, a
// page to load) on a machine that other work loads too: the one wait of every C++ test program
// (launcher's e2e tests and launcher-init's). tests/support/patience.sh is the same rule for the
// shell tests. Standard library and POSIX only: launcher-init's tests use it too.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

namespace launcher::testing {

// How many times slower than idle this machine may be now: the 1-minute load average per online
// CPU, at least 1 and at most 8 (beyond that a wait that still fails is a hang, not a slow machine).
inline double load_factor() {
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  return std::clamp(load / static_cast<double>(cpus), 1.0, 8.0);
}

// `bound` (what an idle machine needs, with a generous margin) scaled by the load now: for a wait
// that is one call with a timeout rather than a poll.
template <class Rep, class Period>
std::chrono::duration<Rep, Period> patient(std::chrono::duration<Rep, Period> bound) {
  return std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(bound * load_factor());
}

// Asks `condition` every `interval` until it holds (true) or `bound` scaled by the load has
// passed (false). The load is read again at every try, so load that arrives during the wait
// lengthens it.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds bound,
                       std::chrono::milliseconds interval = std::chrono::milliseconds(100)) {
  auto start = std::chrono::steady_clock::now();
  while (!condition()) {
    if (std::chrono::steady_clock::now() - start >= patient(bound)) return false;
    std::this_thread::sleep_for(interval);
  }
  return true;
}

} // namespace launcher::testing
