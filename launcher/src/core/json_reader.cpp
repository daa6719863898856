#include "core/json_reader.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher {

using nlohmann::json;

std::string json_error_text(const std::exception& error) {
  std::string detail = error.what();
  if (auto id_end = detail.find("] "); starts_with(detail, "[json.exception.") && id_end != std::string::npos)
    detail = detail.substr(id_end + 2);
  return escape_invalid_utf8(detail);
}

nlohmann::json parse_json_within_depth(std::string_view text) {
  int depth = 0;
  for (std::size_t at = 0; at < text.size(); ++at) {
    char c = text[at];
    if (c == '"') {
      for (++at; at < text.size() && text[at] != '"'; ++at)
        if (text[at] == '\\') ++at;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth) throw JsonTooDeep(at);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return json::parse(text);
}

std::string describe_json(const json& value) {
  switch (value.type()) {
  case json::value_t::string:
    return quote_for_message(value.get_ref<const std::string&>());
  case json::value_t::array:
    return "an array";
  case json::value_t::object:
    return "an object";
  case json::value_t::null:
    return "null";
  case json::value_t::discarded:
    return "nothing";
  default:
    return value.dump(); // a number or a boolean: short, and never invalid UTF-8
  }
}

json JsonReader::parse(std::string_view text, const std::string& command) {
  try {
    return parse_json_within_depth(text);
  } catch (const std::exception& error) {
    throw Error(ExitCode::failed, "`" + command + "` printed no readable JSON: " + json_error_text(error) +
                                      "; output starts with " + quote_for_message(text));
  }
}

void JsonReader::fail(const std::string& expected) const {
  throw Error(ExitCode::failed, "`" + command_ + "` printed unexpected JSON: " + where() + ": expected " + expected +
                                    ", found " + describe_json(*value_));
}

JsonReader JsonReader::at(const std::string& key) const {
  if (!value_->is_object()) fail("an object with \"" + key + "\"");
  auto found = value_->find(key);
  if (found == value_->end() || found->is_null())
    throw Error(ExitCode::failed,
                "`" + command_ + "` printed unexpected JSON: " + (pointer_ / key).to_string() + " is missing");
  return JsonReader(*found, command_, pointer_ / key);
}

std::optional<JsonReader> JsonReader::find(const std::string& key) const {
  if (!value_->is_object()) fail("an object");
  auto found = value_->find(key);
  if (found == value_->end() || found->is_null()) return std::nullopt;
  return JsonReader(*found, command_, pointer_ / key);
}

std::string JsonReader::string() const {
  if (!value_->is_string()) fail("a string");
  return value_->get<std::string>();
}

std::int64_t JsonReader::integer() const {
  bool fits =
      value_->is_number_integer() && !(value_->is_number_unsigned() && value_->get<std::uint64_t>() > INT64_MAX);
  if (!fits) fail("an integer of at most 64 bits");
  return value_->get<std::int64_t>();
}

bool JsonReader::boolean() const {
  if (!value_->is_boolean()) fail("true or false");
  return value_->get<bool>();
}

std::vector<JsonReader> JsonReader::elements() const {
  if (!value_->is_array()) fail("an array");
  std::vector<JsonReader> elements;
  for (std::size_t i = 0; i < value_->size(); ++i)
    elements.emplace_back((*value_)[i], command_, pointer_ / i);
  return elements;
}

std::vector<std::pair<std::string, JsonReader>> JsonReader::members() const {
  if (!value_->is_object()) fail("an object");
  std::vector<std::pair<std::string, JsonReader>> members;
  for (const auto& [key, item] : value_->items())
    members.emplace_back(key, JsonReader(item, command_, pointer_ / key));
  return members;
}

std::string JsonReader::string_or(const std::string& key, const std::string& fallback) const {
  auto member = find(key);
  return member ? member->string() : fallback;
}

std::int64_t JsonReader::integer_or(const std::string& key, std::int64_t fallback) const {
  auto member = find(key);
  return member ? member->integer() : fallback;
}

bool JsonReader::boolean_or(const std::string& key, bool fallback) const {
  auto member = find(key);
  return member ? member->boolean() : fallback;
}

} // namespace launcher
