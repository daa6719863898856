#pragma once

#include <chrono>

#include "core/clock.hpp"

namespace launcher::testing {

// Time that passes only when someone sleeps.
class FakeClock final : public Clock {
public:
  time_point now() const override { return now_; }
  void sleep_for(std::chrono::milliseconds duration) const override { now_ += duration; }

private:
  mutable time_point now_{};
};

} // namespace launcher::testing
