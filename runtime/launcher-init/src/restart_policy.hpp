#pragma once

#include <chrono>
#include <optional>

namespace launcher_init {

struct RestartPolicy {
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{30000};
  // A run this long counts as healthy and forgets earlier failures.
  std::chrono::milliseconds stable_after{30000};
  // More failures in a row than this, each sooner than stable_after, is a broken setup, not a
  // hiccup: give up with an error instead of a crash loop.
  int max_quick_failures = 5;
};

// Exponential backoff for one service.
class RestartBackoff {
public:
  explicit RestartBackoff(RestartPolicy policy = {}) : policy_(policy) {}

  // The delay before restarting a service that ran for `ran_for`; nullopt: give up.
  std::optional<std::chrono::milliseconds> after_exit(std::chrono::milliseconds ran_for);
  int quick_failures() const { return quick_failures_; }

private:
  RestartPolicy policy_;
  int quick_failures_ = 0;
};

} // namespace launcher_init
