#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gpu_probe {

// The smallest timed sample count a figure may be a median of.
inline constexpr int minimum_timed_runs = 20;

struct Options {
  bool json = false;
  bool list = false;
  bool help = false;
  int device = 0;
  int timed_runs = minimum_timed_runs;
  std::vector<std::string> only; // probe names to run; empty runs them all
};

// Thrown for a command line that cannot be honoured; the message names the culprit.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

[[nodiscard]] Options parse_options(std::span<const std::string_view> arguments);

[[nodiscard]] std::string usage_text();

} // namespace gpu_probe
