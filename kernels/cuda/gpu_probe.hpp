#pragma once

#include <span>
#include <string_view>

namespace gpu_probe {

// The whole program behind main(): parses the arguments, runs the probes, prints the table
// or JSON, and returns the exit code documented in usage_text().
[[nodiscard]] int run(std::span<const std::string_view> arguments);

} // namespace gpu_probe
