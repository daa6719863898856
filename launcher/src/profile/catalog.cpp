#include "profile/catalog.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::profile {

using nlohmann::json;

namespace {

enum class MergeRule { replace, by_key, by_item_key };

MergeRule merge_rule(const std::string& field) {
  if (field == "env" || field == "labels" || field == "ulimits" || field == "resources" || field == "jupyter" ||
      field == "ssh")
    return MergeRule::by_key;
  if (field == "ports" || field == "volumes") return MergeRule::by_item_key;
  return MergeRule::replace;
}

// Items that describe the same thing: a later one replaces an earlier one.
json item_key(const std::string& field, const json& item) {
  if (field == "ports") return json::array({item["container"], item["protocol"]});
  return item["container"];
}

void erase_origins_under(Sourced& sourced, const std::string& pointer) {
  auto& origins = sourced.origins;
  for (auto it = origins.lower_bound(pointer); it != origins.end() && starts_with(it->first, pointer);)
    it = (it->first == pointer || it->first[pointer.size()] == '/') ? origins.erase(it) : std::next(it);
}

std::string line_and_column(std::string_view text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, column = 1;
    else
      ++column;
  }
  return std::to_string(line) + ":" + std::to_string(column);
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
  return detail;
}

Sourced resolve_named(const Catalog& catalog, const std::string& name, std::vector<std::string>& chain,
                      const Origin* referenced_from) {
  std::vector<std::string> defining = catalog.sources_defining(name);
  if (defining.empty()) {
    std::string suggestion = did_you_mean(name, catalog.profile_names());
    if (referenced_from)
      throw Error(ExitCode::usage, referenced_from->describe() + ": extends \"" + name +
                                       "\", which no profile file defines" + suggestion);
    std::string known;
    for (const auto& each : catalog.profile_names())
      known += (known.empty() ? "" : ", ") + each;
    throw Error(ExitCode::usage, "profile \"" + name + "\" does not exist" + suggestion + "; profiles: " + known);
  }
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    std::string cycle;
    for (const auto& each : chain)
      cycle += each + " -> ";
    throw Error(ExitCode::usage, referenced_from->describe() + ": extends cycle: " + cycle + name);
  }
  chain.push_back(name);

  Sourced own;
  for (const auto& source : catalog.sources)
    if (auto found = source.profiles.find(name); found != source.profiles.end()) overlay(own, found->second);

  Sourced result;
  if (own.fields.contains("extends")) {
    Origin extends_origin = own.origin_of("/extends");
    result = resolve_named(catalog, own.fields["extends"].get<std::string>(), chain, &extends_origin);
    own.fields.erase("extends");
    erase_origins_under(own, "/extends");
  }
  overlay(result, own);
  chain.pop_back();
  return result;
}

} // namespace

std::vector<std::string> Catalog::profile_names() const {
  std::set<std::string> names;
  for (const auto& source : sources)
    for (const auto& [name, layer] : source.profiles)
      names.insert(name);
  return {names.begin(), names.end()};
}

std::vector<std::string> Catalog::sources_defining(const std::string& profile) const {
  std::vector<std::string> names;
  for (const auto& source : sources)
    if (source.profiles.contains(profile)) names.push_back(source.name);
  return names;
}

const ProfileSource* Catalog::pinning_source() const {
  for (const auto& source : sources)
    if (source.require_pinned_image) return &source;
  return nullptr;
}

json parse_json_text(std::string_view text, const std::string& source_name) {
  try {
    return parse_json_within_depth(text);
  } catch (const JsonTooDeep& error) {
    throw Error(ExitCode::usage, source_name + ": " + error.what());
  } catch (const json::parse_error& error) {
    throw Error(ExitCode::usage,
                source_name + ":" + line_and_column(text, error.byte) + ": JSON syntax error: " + explanation(error));
  } catch (const json::exception& error) {
    ErrorPosition position;
    json::sax_parse(text, &position);
    throw Error(ExitCode::usage, source_name + ":" + line_and_column(text, position.byte) + ": " + explanation(error) +
                                     " (numbers must fit in a double)");
  }
}

ProfileSource parse_profile_source(std::string_view text, const FieldContext& context) {
  json document = parse_json_text(text, context.source);
  auto fail = [&](const std::string& pointer, const std::string& message) {
    throw Error(ExitCode::usage, Origin{context.source, pointer}.describe() + ": " + message);
  };
  if (!document.is_object()) fail("", "expected an object {\"version\": 1, \"profiles\": {...}}");
  const std::vector<std::string> top_keys{"version", "profiles", "require_pinned_image"};
  for (const auto& [key, value] : document.items())
    if (std::find(top_keys.begin(), top_keys.end(), key) == top_keys.end())
      fail(child_pointer("", key), "unknown key \"" + key + "\"" + did_you_mean(key, top_keys));
  if (!document.contains("version")) fail("", "missing required key \"version\" (this format is version 1)");
  if (document["version"] != 1) fail("/version", "expected 1, found " + document["version"].dump());
  if (!document.contains("profiles")) fail("", "missing required key \"profiles\"");
  if (!document["profiles"].is_object()) fail("/profiles", "expected an object of profiles by name");

  ProfileSource source{context.source, {}, false};
  if (document.contains("require_pinned_image")) {
    if (!document["require_pinned_image"].is_boolean())
      fail("/require_pinned_image", "expected true or false, found " + document["require_pinned_image"].dump());
    source.require_pinned_image = document["require_pinned_image"].get<bool>();
  }
  for (auto& [name, fields] : document["profiles"].items()) {
    std::string pointer = child_pointer("/profiles", name);
    if (name.size() > max_name_length)
      fail(pointer, "a profile name is at most " + std::to_string(max_name_length) + " characters, found " +
                        std::to_string(name.size()));
    if (!is_valid_container_name(name))
      fail(pointer, "expected a profile name of letters, digits, '_', '.' or '-' (2 characters at least), found " +
                        quote_for_message(name));
    source.profiles[name] = validated_layer(std::move(fields), context, pointer);
  }
  return source;
}

Sourced validated_layer(json fields, const FieldContext& context, const std::string& pointer) {
  TypedFields typed = normalize_profile(fields, context, pointer);
  return as_layer(std::move(fields), context.source, pointer, typed);
}

Sourced as_layer(json fields, const std::string& source, const std::string& pointer, const TypedFields& typed) {
  // Resolution reads the typed request only: one left in the JSON would be silently ignored.
  if (fields.contains("gpus")) throw std::logic_error("as_layer: \"gpus\" must come typed (validated_layer)");
  Sourced layer{std::move(fields), typed.gpus, {}};
  auto origin = [&](const std::string& sub) { return Origin{source, pointer.empty() ? "" : pointer + sub}; };
  if (typed.gpus) layer.origins["/gpus"] = origin("/gpus");
  for (const auto& [key, value] : layer.fields.items()) {
    std::string at = child_pointer("", key);
    switch (merge_rule(key)) {
    case MergeRule::replace:
      layer.origins[at] = origin(at);
      break;
    case MergeRule::by_key:
      for (const auto& [sub, item] : value.items())
        layer.origins[child_pointer(at, sub)] = origin(child_pointer(at, sub));
      break;
    case MergeRule::by_item_key:
      for (std::size_t i = 0; i < value.size(); ++i)
        layer.origins[child_pointer(at, i)] = origin(child_pointer(at, i));
      break;
    }
  }
  return layer;
}

void overlay(Sourced& base, const Sourced& top) {
  if (top.gpus) {
    base.gpus = top.gpus;
    base.origins["/gpus"] = top.origin_of("/gpus");
  }
  for (const auto& [key, value] : top.fields.items()) {
    std::string at = child_pointer("", key);
    switch (merge_rule(key)) {
    case MergeRule::replace:
      base.fields[key] = value;
      erase_origins_under(base, at);
      base.origins[at] = top.origin_of(at);
      break;
    case MergeRule::by_key:
      if (!base.fields.contains(key)) base.fields[key] = json::object();
      for (const auto& [sub, item] : value.items()) {
        base.fields[key][sub] = item;
        base.origins[child_pointer(at, sub)] = top.origin_of(child_pointer(at, sub));
      }
      break;
    case MergeRule::by_item_key: {
      if (!base.fields.contains(key)) base.fields[key] = json::array();
      json& items = base.fields[key];
      for (std::size_t i = 0; i < value.size(); ++i) {
        std::size_t slot = 0;
        while (slot < items.size() && item_key(key, items[slot]) != item_key(key, value[i]))
          ++slot;
        if (slot == items.size())
          items.push_back(value[i]);
        else
          items[slot] = value[i];
        base.origins[child_pointer(at, slot)] = top.origin_of(child_pointer(at, i));
      }
      break;
    }
    }
  }
}

Sourced merge_profile(const Catalog& catalog, const std::string& name, const std::vector<Sourced>& overrides) {
  std::vector<std::string> chain;
  Sourced merged = resolve_named(catalog, name, chain, nullptr);
  for (const auto& layer : overrides)
    overlay(merged, layer);
  return merged;
}

} // namespace launcher::profile
