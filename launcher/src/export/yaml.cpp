#include "export/yaml.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <string_view>

#include "core/error.hpp"

namespace launcher::exporting {

using nlohmann::json;

namespace {

// Plain scalars start with a letter or '/' and hold no indicator a reader would act on (no
// space, '#', quote, brace, bracket, trailing ':'), and are none of the words YAML 1.1 reads as
// booleans or null. So no number, date, boolean or null can be written plain by mistake.
bool can_be_plain(const std::string& text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '/')) return false;
  if (text.back() == ':') return false;
  bool safe_characters = std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_./@+=:,-").find(c) != std::string_view::npos;
  });
  if (!safe_characters) return false;
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<std::string_view, 11> reserved{"y",    "n",     "yes",  "no",  "on", "off",
                                                             "true", "false", "null", "nan", "inf"};
  return std::find(reserved.begin(), reserved.end(), lower) == reserved.end();
}

// The code point starting at text[at] and its length in bytes; throws on invalid UTF-8.
std::pair<char32_t, std::size_t> decode(const std::string& text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(i < text.size() ? text[i] : 0); };
  unsigned char lead = byte(at);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  char32_t point = length == 1 ? lead : length == 2 ? lead & 0x1F : length == 3 ? lead & 0x0F : lead & 0x07;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) length = 0;
    point = (point << 6) | (byte(at + i) & 0x3F);
  }
  static constexpr std::array<char32_t, 5> smallest{0, 0, 0x80, 0x800, 0x10000};
  if (length == 0 || point < smallest[length] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF))
    throw Error(ExitCode::usage, "cannot export \"" + text + "\": it is not valid UTF-8");
  return {point, length};
}

// Double-quoted: what YAML does not count as printable (C0 and C1 controls, DEL, U+FFFE/FFFF)
// is escaped, the rest is kept as it is.
std::string double_quoted(const std::string& text) {
  std::string quoted = "\"";
  for (std::size_t at = 0; at < text.size();) {
    auto [point, length] = decode(text, at);
    if (point == '"' || point == '\\')
      quoted += '\\', quoted += static_cast<char>(point);
    else if (point == '\n')
      quoted += "\\n";
    else if (point == '\t')
      quoted += "\\t";
    else if (point < 0x20 || (point >= 0x7F && point <= 0x9F) || point == 0xFFFE || point == 0xFFFF) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", static_cast<unsigned>(point));
      quoted += escape;
    } else {
      quoted += text.substr(at, length);
    }
    at += length;
  }
  return quoted + "\"";
}

std::string scalar_text(const json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return can_be_plain(text) ? text : double_quoted(text);
  }
  if (value.is_object()) return "{}";
  if (value.is_array()) return "[]";
  return value.dump(); // null, booleans and numbers are written as JSON writes them
}

bool is_block(const json& value) { return value.is_structured() && !value.empty(); }

// Writes a non-empty object or array at `indent`. When `line_started`, its first line's
// indentation (a sequence item's "- ") is written already.
void write_block(std::string& out, const json& node, std::size_t indent, bool line_started) {
  auto start_line = [&] {
    if (!line_started) out.append(indent, ' ');
    line_started = false;
  };
  auto write_after = [&](const json& value) {
    if (is_block(value)) {
      out += "\n";
      write_block(out, value, indent + 2, false);
    } else {
      out += " " + scalar_text(value) + "\n";
    }
  };
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      start_line();
      out += scalar_text(key) + ":";
      write_after(value);
    }
    return;
  }
  for (const auto& item : node) {
    start_line();
    out += "-";
    if (is_block(item)) {
      out += " ";
      write_block(out, item, indent + 2, true);
    } else {
      out += " " + scalar_text(item) + "\n";
    }
  }
}

} // namespace

std::string to_yaml(const json& value) {
  if (!is_block(value)) return scalar_text(value) + "\n";
  std::string out;
  write_block(out, value, 0, false);
  return out;
}

} // namespace launcher::exporting
