#include "core/clock.hpp"

#include <thread>

namespace launcher {

namespace {

class SteadyClock final : public Clock {
public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds duration) const override { std::this_thread::sleep_for(duration); }
};

} // namespace

const Clock& system_clock() {
  static const SteadyClock clock;
  return clock;
}

} // namespace launcher
