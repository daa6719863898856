#pragma once

#include <functional>

namespace gpu_probe {

// Runs `enqueue` (which queues work on the default stream) a few times untimed to warm up
// clocks, caches and library heuristics, then `timed_runs` times between CUDA events, and
// returns the median duration in milliseconds.
[[nodiscard]] double median_milliseconds(int timed_runs, const std::function<void()>& enqueue);

} // namespace gpu_probe
