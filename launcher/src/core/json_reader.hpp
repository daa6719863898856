#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace launcher {

// JSON nested deeper than this is refused: copying, comparing and printing nlohmann values
// recurse once per level, and no input the launcher reads needs more.
inline constexpr int max_json_depth = 64;

class JsonTooDeep : public std::runtime_error {
public:
  explicit JsonTooDeep(std::size_t offset)
      : std::runtime_error("JSON nested deeper than " + std::to_string(max_json_depth) + " levels"), offset(offset) {}
  std::size_t offset; // of the bracket that opens one level too many
};

// What an exception from nlohmann (or any other) says, less nlohmann's id
// ("[json.exception.parse_error.101] "), which means nothing to a user, bytes that are not
// UTF-8 escaped.
std::string json_error_text(const std::exception& error);

// nlohmann::json::parse with the depth limit: throws its exceptions, or JsonTooDeep. The depth
// is found by a scan of the brackets outside strings before the parser runs (a parser callback
// would do, but nlohmann's makes each object's end cost the size of its parent: quadratic).
nlohmann::json parse_json_within_depth(std::string_view text);

// A read-only view of JSON another program printed (Docker, a GPU tool), for the one place
// that turns it into the launcher's types. Every field used is checked for presence and type; a
// field that is missing or malformed is an Error (exit 1) naming the command and the field:
//   `docker container inspect` printed unexpected JSON: /State/Running: expected true or false, found "yes"
class JsonReader {
public:
  // Parses what `command` printed; output that is not JSON is an Error naming the command.
  static nlohmann::json parse(std::string_view text, const std::string& command);

  JsonReader(const nlohmann::json& value, std::string command,
             nlohmann::json::json_pointer pointer = nlohmann::json::json_pointer())
      : value_(&value), command_(std::move(command)), pointer_(std::move(pointer)) {}
  // A reader only points into the value, which must outlive it: a temporary cannot be read.
  JsonReader(nlohmann::json&&, std::string, nlohmann::json::json_pointer = nlohmann::json::json_pointer()) = delete;

  // A member that must be present (and not null).
  JsonReader at(const std::string& key) const;
  // A member that may be absent or null.
  std::optional<JsonReader> find(const std::string& key) const;

  std::string string() const;
  std::int64_t integer() const;
  bool boolean() const;
  std::vector<JsonReader> elements() const;                        // of an array
  std::vector<std::pair<std::string, JsonReader>> members() const; // of an object

  // The optional member's value, or `fallback` when it is absent or null; a wrong type is an Error.
  std::string string_or(const std::string& key, const std::string& fallback) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;

  bool is_object() const { return value_->is_object(); }
  const nlohmann::json& json() const { return *value_; }
  std::string where() const { return pointer_.empty() ? "/" : pointer_.to_string(); }

  [[noreturn]] void fail(const std::string& expected) const;

private:
  const nlohmann::json* value_;
  std::string command_;
  nlohmann::json::json_pointer pointer_;
};

// "a string", "an object", "5", ...: what a JSON value is, for "found ..." in messages.
std::string describe_json(const nlohmann::json& value);

} // namespace launcher
