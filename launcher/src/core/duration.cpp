#include "core/duration.hpp"

#include <charconv>

namespace launcher {

namespace {

constexpr long long longest_s = 366LL * 24 * 3600;

long long unit_seconds(char unit) {
  switch (unit) {
  case 's':
    return 1;
  case 'm':
    return 60;
  case 'h':
    return 3600;
  case 'd':
    return 24 * 3600;
  default:
    return 0;
  }
}

} // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long total = 0;
  while (!text.empty()) {
    if (text.front() < '0' || text.front() > '9') return std::nullopt; // no sign, no space
    long long number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end == text.data() || number > longest_s) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    long long unit = 1;
    if (!text.empty()) {
      unit = unit_seconds(text.front());
      if (unit == 0) return std::nullopt;
      text.remove_prefix(1);
    } else if (total != 0) {
      return std::nullopt; // "1h30": the unit of the 30 is not said
    }
    total += number * unit;
    if (total > longest_s) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds duration) {
  long long total = duration.count();
  if (total == 0) return "0s";
  std::string text;
  if (total >= 3600) text += std::to_string(total / 3600) + "h";
  if (total % 3600 >= 60) text += std::to_string(total % 3600 / 60) + "m";
  if (total % 60 != 0) text += std::to_string(total % 60) + "s";
  return text;
}

} // namespace launcher
