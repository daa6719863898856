#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace launcher {

// A span of time as people write it: "90s", "10m", "2h", "1h30m", or bare seconds ("45").
// nullopt when it does not parse or exceeds a year: a typo, not a wait anyone means.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// The shortest such form: "45s", "10m", "1h30m", "2h".
std::string format_duration(std::chrono::seconds duration);

} // namespace launcher
