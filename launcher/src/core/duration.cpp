#include "core/duration.hpp"

#include <string>

namespace launcher {

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  constexpr std::string_view units = "dhms";
  constexpr long long unit_seconds[] = {86400, 3600, 60, 1};
  long long total = 0;
  std::size_t next_unit = 0; // units must come largest first, each once
  if (text.empty()) return std::nullopt;
  while (!text.empty()) {
    std::size_t digits = text.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || digits > 9) return std::nullopt;
    long long number = std::stoll(std::string(text.substr(0, digits)));
    std::size_t unit = units.find(text[digits], next_unit);
    if (unit == std::string_view::npos) return std::nullopt;
    total += number * unit_seconds[unit];
    if (total > max_duration.count()) return std::nullopt;
    next_unit = unit + 1;
    text.remove_prefix(digits + 1);
  }
  if (total == 0) return std::nullopt;
  return std::chrono::seconds(total);
}

} // namespace launcher
