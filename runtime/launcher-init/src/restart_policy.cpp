#include "restart_policy.hpp"

#include <algorithm>

namespace launcher_init {

std::optional<std::chrono::milliseconds> RestartBackoff::after_exit(std::chrono::milliseconds ran_for) {
  if (ran_for >= policy_.stable_after) quick_failures_ = 0;
  ++quick_failures_;
  if (quick_failures_ > policy_.max_quick_failures) return std::nullopt;
  auto delay = policy_.first_delay;
  for (int failure = 1; failure < quick_failures_ && delay < policy_.max_delay; ++failure)
    delay *= 2;
  return std::min(delay, policy_.max_delay);
}

} // namespace launcher_init
