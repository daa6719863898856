#pragma once

#include <chrono>

namespace launcher {

// Time as the waits see it (readiness, locks): the real one, or a test's that moves only when
// someone sleeps, so a 120 s timeout is tested in no time.
class Clock {
public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) const = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_for.
const Clock& system_clock();

} // namespace launcher
