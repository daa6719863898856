#include "core/bytes.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace launcher {

namespace {

constexpr std::array<std::pair<char, std::uint64_t>, 5> units{
    {{'t', 1ULL << 40}, {'g', 1ULL << 30}, {'m', 1ULL << 20}, {'k', 1ULL << 10}, {'b', 1}}};

} // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t number_end = 0;
  while (number_end < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[number_end])) || text[number_end] == '.'))
    ++number_end;
  double number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + number_end, number);
  if (number_end == 0 || error != std::errc() || end != text.data() + number_end) return std::nullopt;

  std::string unit;
  for (char c : text.substr(number_end))
    if (c != ' ') unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t multiplier = 1;
  if (!unit.empty()) {
    // Accept "g", "gb", "gib"; "b" alone is bytes.
    if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
    if (unit.size() != 1) return std::nullopt;
    bool known = false;
    for (auto [letter, factor] : units)
      if (unit[0] == letter) multiplier = factor, known = true;
    if (!known) return std::nullopt;
  }
  double bytes = std::floor(number * static_cast<double>(multiplier));
  if (bytes >= 9.0e18) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

std::string format_docker_size(std::uint64_t bytes) {
  for (auto [letter, factor] : units)
    if (factor > 1 && bytes >= factor && bytes % factor == 0) return std::to_string(bytes / factor) + letter;
  return std::to_string(bytes);
}

} // namespace launcher
