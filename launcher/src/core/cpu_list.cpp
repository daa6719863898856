#include "core/cpu_list.hpp"

#include <charconv>

#include "core/text.hpp"

namespace launcher {

namespace {

constexpr int max_cpu = 65535;

std::optional<int> parse_number(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0 || value > max_cpu)
    return std::nullopt;
  return value;
}

} // namespace

std::optional<CpuList> parse_cpu_list(std::string_view text) {
  CpuList list;
  for (const std::string& entry : split(text, ',')) {
    std::size_t dash = entry.find('-');
    auto first = parse_number(std::string_view(entry).substr(0, dash));
    auto last = dash == std::string::npos ? first : parse_number(std::string_view(entry).substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    for (int cpu = *first; cpu <= *last; ++cpu)
      list.insert(cpu);
  }
  return list;
}

std::string format_cpu_list(const CpuList& list) {
  std::string text;
  for (auto it = list.begin(); it != list.end();) {
    int first = *it, last = *it;
    for (++it; it != list.end() && *it == last + 1; ++it)
      last = *it;
    text += (text.empty() ? "" : ",") + std::to_string(first) + (last > first ? "-" + std::to_string(last) : "");
  }
  return text;
}

} // namespace launcher
