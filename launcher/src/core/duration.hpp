#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace launcher {

// The longest duration a profile may give (ten years): far beyond any use, and its seconds fit
// every integer type on the way to launcher-init.
inline constexpr std::chrono::seconds max_duration{10LL * 366 * 86400};

// "2h", "90m", "1h30m", "20s", "3d": whole numbers with units d, h, m, s, largest first, each unit
// once. nullopt when it does not parse, is zero or is above max_duration. Written back by
// launcher::contract::format_duration.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

} // namespace launcher
