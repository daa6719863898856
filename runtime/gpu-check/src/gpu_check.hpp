#pragma once

#include <span>
#include <string_view>

namespace gpu_check {

// The whole program behind main(): checks, prints the table or JSON, and returns the exit
// code (0 all checks passed, 1 a check failed, 2 bad usage, 3 no CUDA GPU visible to LibTorch).
[[nodiscard]] int run(std::span<const std::string_view> arguments);

} // namespace gpu_check
