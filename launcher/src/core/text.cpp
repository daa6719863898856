#include "core/text.hpp"

#include <algorithm>
#include <cstdio>

namespace launcher {

namespace {

// Optimal string alignment distance: a swap of two neighbours ("prots") is one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The length of the well-formed UTF-8 sequence starting at text[at], or 0 when there is none
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = lead >= 0xC2 && lead <= 0xDF   ? 2
                       : lead >= 0xE0 && lead <= 0xEF ? 3
                       : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                      : 0;
  if (length == 0 || at + length > text.size()) return 0;
  // The second byte's range is narrower after some lead bytes; that is what excludes the
  // overlong forms, the surrogates and the code points above U+10FFFF.
  unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = at + 2; i < at + length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return length;
}

std::string hex_escape(unsigned char byte) {
  char escaped[5];
  std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
  return escaped;
}

// JSON's escapes for what JSON must escape, as nlohmann::json::dump writes them.
std::string json_escape(char c) {
  switch (c) {
  case '"':
    return "\\\"";
  case '\\':
    return "\\\\";
  case '\b':
    return "\\b";
  case '\f':
    return "\\f";
  case '\n':
    return "\\n";
  case '\r':
    return "\\r";
  case '\t':
    return "\\t";
  default:
    break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    char escaped[7];
    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
    return escaped;
  }
  return std::string(1, c);
}

} // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string escaped;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = utf8_sequence_length(text, at);
    if (length == 0)
      escaped += hex_escape(static_cast<unsigned char>(text[at++]));
    else
      escaped += text.substr(at, length), at += length;
  }
  return escaped;
}

std::string escape_control_characters(std::string_view text, Newlines newlines) {
  std::string escaped;
  escaped.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = utf8_sequence_length(text, at);
    auto byte = static_cast<unsigned char>(text[at]);
    if (length == 0) {
      escaped += hex_escape(byte);
      at += 1;
    } else if (length == 1) {
      bool control = byte < 0x20 || byte == 0x7F;
      if (control && !(byte == '\n' && newlines == Newlines::keep))
        escaped += hex_escape(byte);
      else
        escaped += static_cast<char>(byte);
      at += 1;
    } else {
      // U+0080-U+009F (C2 80-C2 9F): the C1 controls, CSI among them.
      auto second = static_cast<unsigned char>(text[at + 1]);
      if (byte == 0xC2 && second <= 0x9F) {
        char code[7];
        std::snprintf(code, sizeof code, "\\u%04x", second);
        escaped += code;
      } else {
        escaped += text.substr(at, length);
      }
      at += length;
    }
  }
  return escaped;
}

bool is_environment_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_ascii_alphanumeric(c) || c == '_'; });
}

std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // A third of the word's length, at least 1 and at most 3 edits: close enough to be a typo.
  std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto match = closest_match(word, candidates);
  return match ? " (did you mean \"" + *match + "\"?)" : "";
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t max_length = 80;
  std::string quoted = "\"";
  // Only the start is shown: quoting stops once it is longer than the cut.
  for (std::size_t at = 0; at < text.size() && quoted.size() <= max_length;) {
    std::size_t length = utf8_sequence_length(text, at);
    if (length == 0)
      quoted += hex_escape(static_cast<unsigned char>(text[at++]));
    else if (length == 1)
      quoted += json_escape(text[at++]);
    else
      quoted += text.substr(at, length), at += length;
  }
  quoted += '"';
  if (quoted.size() > max_length) {
    std::size_t cut = max_length - 4;
    // Never end inside a UTF-8 sequence.
    while (cut > 1 && (static_cast<unsigned char>(quoted[cut]) & 0xC0) == 0x80)
      --cut;
    quoted = quoted.substr(0, cut) + "...\"";
  }
  return quoted;
}

} // namespace launcher
