#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace launcher_init {

// A parsed JSON document, for the few JSON files launcher-init reads (backup manifests, the backup
// credentials, LAUNCHER_BACKUP_PATHS) without a library. Numbers keep their text, so 64-bit sizes
// and nanosecond times survive exactly.
struct JsonMember;

struct Json {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text; // a string's value or a number's digits
  std::vector<Json> items;
  std::vector<JsonMember> members; // a vector of an incomplete type: allowed since C++17

  const Json* find(std::string_view key) const;
};

struct JsonMember {
  std::string name;
  Json value;
};

// Throws Error "failed to parse <source>: <reason> at byte N" for anything but one JSON value
// (at most 64 levels deep).
Json parse_json(std::string_view text, std::string_view source);

// `value` as a JSON string literal, quotes included.
std::string json_quote(std::string_view value);

// The member `key` of `object` as a string, a whole number in [minimum, maximum], or an array of
// strings; each throws Error naming `source` and the key when it is missing or of another type.
std::string json_string(const Json& object, std::string_view key, std::string_view source);
std::int64_t json_integer(const Json& object, std::string_view key, std::string_view source, std::int64_t minimum,
                          std::int64_t maximum);
std::vector<std::string> json_strings(const Json& array, std::string_view source);

} // namespace launcher_init
