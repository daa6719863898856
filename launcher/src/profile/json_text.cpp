#include "profile/json_text.hpp"

#include <optional>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "profile/origin.hpp"

namespace launcher::profile {

using nlohmann::json;

namespace {

[[noreturn]] void fail_at(std::string_view text, std::size_t offset, const std::string& source,
                          const std::string& message) {
  throw Error(ExitCode::usage, source + ":" + line_and_column(text, offset) + ": " + message);
}

// The offset just past the string token that opens at `open` (a '"'), or the text's end.
std::size_t string_end(std::string_view text, std::size_t open) {
  for (std::size_t at = open + 1; at < text.size(); ++at) {
    if (text[at] == '\\')
      ++at;
    else if (text[at] == '"')
      return at + 1;
  }
  return text.size();
}

// A NUL byte, which the parser reports as the end of the input, is named at its place.
void check_no_nul(std::string_view text, const std::string& source) {
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    std::string place = line_and_column(text, nul);
    place.replace(place.find(':'), 1, " column ");
    throw Error(ExitCode::usage, source + ": NUL byte at line " + place + " (a profile file is UTF-8 text)");
  }
}

// Replays a parse to find where nlohmann gave up when its exception carries no position
// (out_of_range.406, a number beyond a double, is reported without one).
class ErrorPosition : public nlohmann::json_sax<json> {
public:
  std::size_t byte = 0;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    byte = position;
    return false;
  }
};

// nlohmann's message starts with its own id ("[json.exception.parse_error.101] parse error at
// line 3, column 12: "); keep only the explanation.
std::string explanation(const json::exception& error) {
  std::string detail = error.what();
  if (auto id_end = detail.find("] "); id_end != std::string::npos) detail = detail.substr(id_end + 2);
  if (auto at = detail.find(": "); at != std::string::npos && starts_with(detail, "parse error"))
    detail = detail.substr(at + 2);
  return escape_invalid_utf8(detail);
}

// One open object or array on the way to the current value.
struct Frame {
  bool object = false;
  std::unordered_map<std::string, std::size_t> key_lines; // of an object: each key, the line it is on
  std::string child;                                      // the key or index being read
  std::size_t index = 0;                                  // of an array: the current element
};

// On text the parser accepted: a key twice in one object is an Error naming it and both lines.
void check_duplicate_keys(std::string_view text, const std::string& source) {
  std::vector<Frame> frames;
  std::size_t line = 1;
  for (std::size_t at = 0; at < text.size(); ++at) {
    char c = text[at];
    if (c == '\n') {
      ++line;
    } else if (c == '{' || c == '[') {
      frames.push_back(Frame{c == '{', {}, c == '[' ? "0" : "", 0});
    } else if (c == '}' || c == ']') {
      frames.pop_back();
    } else if (c == ',' && !frames.empty() && !frames.back().object) {
      frames.back().child = std::to_string(++frames.back().index);
    } else if (c == '"') {
      std::size_t end = string_end(text, at);
      std::size_t next = text.find_first_not_of(" \t\r\n", end);
      bool is_key = !frames.empty() && frames.back().object && next != std::string_view::npos && text[next] == ':';
      if (is_key) {
        std::string_view raw = text.substr(at, end - at);
        // Escapes spell one key in many ways ("a" and "\u0061"): compare what they mean.
        std::string key = raw.find('\\') == std::string_view::npos ? std::string(raw.substr(1, raw.size() - 2))
                                                                   : json::parse(raw).get<std::string>();
        Frame& object = frames.back();
        if (auto [first, fresh] = object.key_lines.emplace(key, line); !fresh) {
          std::string pointer;
          for (std::size_t i = 0; i + 1 < frames.size(); ++i)
            pointer = child_pointer(pointer, frames[i].child);
          std::string where = pointer.empty() ? "at the top level" : "in " + escape_invalid_utf8(pointer);
          fail_at(text, at, source,
                  "duplicate key " + quote_for_message(key) + " " + where + " (first at line " +
                      std::to_string(first->second) + ", again at line " + std::to_string(line) +
                      "); JSON keeps only one of them, so write it once");
        }
        object.child = std::move(key);
      }
      at = end - 1;
    }
  }
}

} // namespace

std::string line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, column = 1;
    else
      ++column;
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

json parse_json_text(std::string_view text, const std::string& source_name) {
  check_no_nul(text, source_name);
  json document;
  try {
    document = parse_json_within_depth(text);
  } catch (const JsonTooDeep& error) {
    throw Error(ExitCode::usage, source_name + ":" + line_and_column(text, error.offset) + ": " + error.what());
  } catch (const json::parse_error& error) {
    // nlohmann's byte is one past the offending character.
    throw Error(ExitCode::usage, source_name + ":" + line_and_column(text, error.byte == 0 ? 0 : error.byte - 1) +
                                     ": JSON syntax error: " + explanation(error));
  } catch (const json::exception& error) {
    ErrorPosition position;
    json::sax_parse(text, &position);
    throw Error(ExitCode::usage, source_name + ":" + line_and_column(text, position.byte == 0 ? 0 : position.byte - 1) +
                                     ": " + explanation(error) + " (numbers must fit in a double)");
  }
  check_duplicate_keys(text, source_name);
  return document;
}

} // namespace launcher::profile
