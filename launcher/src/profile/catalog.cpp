#include "profile/catalog.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

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
std::string item_key(const std::string& field, const json& item) {
  auto part = [&](const char* key) { return item.contains(key) ? item[key].dump() : "null"; };
  if (field == "ports") return part("container") + "/" + part("protocol");
  return part("container");
}

void erase_origins_under(Sourced& sourced, const std::string& pointer) {
  auto& origins = sourced.origins;
  for (auto it = origins.lower_bound(pointer); it != origins.end() && starts_with(it->first, pointer);)
    it = (it->first == pointer || it->first[pointer.size()] == '/') ? origins.erase(it) : std::next(it);
}

// Lays layers one after another over `base`, each item key of its lists found through a hash
// index: linear in the items of all layers (10 000 -p flags are 10 000 layers of one port each).
class Overlayer {
public:
  explicit Overlayer(Sourced& base) : base_(base) {}

  void add(const Sourced& top) {
    if (top.gpus) {
      base_.gpus = top.gpus;
      base_.origins["/gpus"] = top.origin_of("/gpus");
    }
    for (const auto& [key, value] : top.fields.items()) {
      std::string at = child_pointer("", key);
      switch (merge_rule(key)) {
      case MergeRule::replace:
        base_.fields[key] = value;
        erase_origins_under(base_, at);
        base_.origins[at] = top.origin_of(at);
        break;
      case MergeRule::by_key:
        if (!base_.fields.contains(key)) base_.fields[key] = json::object();
        for (const auto& [sub, item] : value.items()) {
          base_.fields[key][sub] = item;
          base_.origins[child_pointer(at, sub)] = top.origin_of(child_pointer(at, sub));
        }
        break;
      case MergeRule::by_item_key: {
        json& items = base_.fields[key];
        if (!items.is_array()) items = json::array();
        std::unordered_map<std::string, std::size_t>& slots = slots_of(key, items);
        for (std::size_t i = 0; i < value.size(); ++i) {
          auto [found, fresh] = slots.emplace(item_key(key, value[i]), items.size());
          std::size_t slot = found->second;
          if (fresh)
            items.push_back(value[i]);
          else
            items[slot] = value[i];
          base_.origins[child_pointer(at, slot)] = top.origin_of(child_pointer(at, i));
        }
        break;
      }
      }
    }
  }

private:
  // The slot of each item key in base's list `field`, indexed on first use.
  std::unordered_map<std::string, std::size_t>& slots_of(const std::string& field, const json& items) {
    auto [found, fresh] = slots_.try_emplace(field);
    if (fresh)
      for (std::size_t slot = 0; slot < items.size(); ++slot)
        found->second.emplace(item_key(field, items[slot]), slot);
    return found->second;
  }

  Sourced& base_;
  std::unordered_map<std::string, std::unordered_map<std::string, std::size_t>> slots_;
};

// "a -> b -> c -> ... -> z": a chain of profile names with its middle left out when long.
// `head` holds the first names of a chain of `length`, `last` its last one.
std::string chain_text(const std::vector<std::string>& head, std::size_t length, const std::string& last) {
  std::string text;
  for (const auto& name : head)
    text += (text.empty() ? "" : " -> ") + name;
  if (head.size() < length) text += (head.size() + 1 < length ? " -> ... -> " : " -> ") + last;
  return text;
}

// More names than this and a missing name gets no "did you mean": the search is quadratic.
constexpr std::size_t max_names_to_suggest_from = 1000;

} // namespace

// Each profile's effective `extends` (the highest source that sets it wins, as in overlay) and
// where following it ends: at a profile without one (its root), at a target no file defines,
// or in a cycle. Settled for every profile by one walk each that stops at the first profile
// already settled: linear time, no recursion.
struct ExtendsIndex {
  enum class End { root, missing, cycle };
  enum class State { fresh, on_path, settled };

  struct Node {
    std::optional<std::string> extends;
    Origin origin; // of the extends
    End end = End::root;
    std::size_t depth = 0; // extends followed to reach `last`
    std::string last;      // the root, or the profile whose target is missing
    std::size_t cycle = 0; // End::cycle: its message in `cycles`
    State state = State::fresh;
    std::size_t position = 0; // while on_path: its place on the path
  };

  std::unordered_map<std::string, Node> nodes;
  std::vector<std::string> cycles; // each cycle's message, naming the extends that closes it

  const Node* find(const std::string& name) const {
    auto found = nodes.find(name);
    return found == nodes.end() ? nullptr : &found->second;
  }

  explicit ExtendsIndex(const Catalog& catalog) {
    for (const auto& source : catalog.sources)
      for (const auto& [name, layer] : source.profiles) {
        Node& node = nodes[name];
        if (layer.fields.contains("extends")) {
          node.extends = layer.fields["extends"].get<std::string>();
          node.origin = layer.origin_of("/extends");
        }
      }
    // In the sources' order, so that a cycle is always told from the same profile.
    for (const auto& source : catalog.sources)
      for (const auto& [name, layer] : source.profiles) {
        auto node = nodes.find(name);
        settle(node->second, node->first);
      }
  }

  void settle(Node& start, const std::string& start_name) {
    std::vector<std::pair<Node*, const std::string*>> path;
    Node* current = &start;
    const std::string* current_name = &start_name;
    Node* end = nullptr; // the settled node the path leads to
    while (true) {
      if (current->state == State::settled) {
        end = current;
        break;
      }
      if (current->state == State::on_path) {
        settle_cycle(path, current->position);
        path.resize(current->position);
        end = current;
        break;
      }
      current->state = State::on_path;
      current->position = path.size();
      path.emplace_back(current, current_name);
      auto next = current->extends ? nodes.find(*current->extends) : nodes.end();
      if (next == nodes.end()) {
        current->end = current->extends ? End::missing : End::root;
        current->last = *current_name;
        current->state = State::settled;
        path.pop_back();
        end = current;
        break;
      }
      current = &next->second;
      current_name = &next->first;
    }
    for (auto step = path.rbegin(); step != path.rend(); ++step) {
      Node& node = *step->first;
      node.end = end->end;
      node.depth = end->depth + 1;
      node.last = end->last;
      node.cycle = end->cycle;
      node.state = State::settled;
      end = &node;
    }
  }

  // path[first..] is a cycle: each extends the next, the last extends path[first].
  void settle_cycle(const std::vector<std::pair<Node*, const std::string*>>& path, std::size_t first) {
    std::size_t length = path.size() - first;
    std::vector<std::string> head;
    for (std::size_t i = first; i < path.size() && head.size() < (length <= 8 ? length : 3); ++i)
      head.push_back(*path[i].second);
    cycles.push_back(path.back().first->origin.describe() + ": an extends cycle of " + std::to_string(length) +
                     " profiles: " + chain_text(head, length, *path.back().second) + " -> " + *path[first].second);
    for (std::size_t i = first; i < path.size(); ++i) {
      Node& node = *path[i].first;
      node.end = End::cycle;
      node.cycle = cycles.size() - 1;
      node.state = State::settled;
    }
  }
};

namespace {

[[noreturn]] void fail_missing_profile(const Catalog& catalog, const std::string& name) {
  std::vector<std::string> names = catalog.profile_names();
  std::string suggestion = names.size() <= max_names_to_suggest_from ? did_you_mean(name, names) : "";
  constexpr std::size_t shown = 30;
  std::string known;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i)
    known += (known.empty() ? "" : ", ") + names[i];
  if (names.size() > shown) known += " and " + std::to_string(names.size() - shown) + " more (`launcher profiles`)";
  throw Error(ExitCode::usage, "profile \"" + name + "\" does not exist" + suggestion + "; profiles: " + known);
}

// The names `extends` leads through from `name`, itself first, its root last; every problem
// on the way is an Error naming the extends that causes it.
std::vector<std::string> extends_chain(const Catalog& catalog, const std::string& name) {
  const ExtendsIndex& index = catalog.extends_index();
  const ExtendsIndex::Node* start = index.find(name);
  if (!start) fail_missing_profile(catalog, name);
  using End = ExtendsIndex::End;

  if (start->end == End::cycle) {
    // A cycle met within the depth limit is shown from this profile; a longer way round is
    // shown once for the cycle.
    std::vector<std::string> chain;
    std::unordered_map<std::string, std::size_t> seen;
    for (std::string current = name; chain.size() <= max_extends_depth;) {
      const ExtendsIndex::Node* node = index.find(current);
      if (seen.contains(current)) {
        std::string text;
        for (const auto& each : chain)
          text += each + " -> ";
        throw Error(ExitCode::usage,
                    index.find(chain.back())->origin.describe() + ": extends cycle: " + text + current);
      }
      seen.emplace(current, chain.size());
      chain.push_back(current);
      current = *node->extends;
    }
    throw Error(ExitCode::usage, index.cycles[start->cycle]);
  }

  if (start->depth > max_extends_depth) {
    std::vector<std::string> head{name};
    for (const ExtendsIndex::Node* node = start; head.size() < 3; node = index.find(*node->extends))
      head.push_back(*node->extends);
    throw Error(ExitCode::usage, start->origin.describe() + ": an extends chain deeper than " +
                                     std::to_string(max_extends_depth) +
                                     " levels: " + chain_text(head, start->depth + 1, start->last) + " (" +
                                     std::to_string(start->depth) + " levels)");
  }

  std::vector<std::string> chain{name};
  for (const ExtendsIndex::Node* node = start; node->extends;) {
    const ExtendsIndex::Node* next = index.find(*node->extends);
    if (!next) {
      std::vector<std::string> names;
      if (index.nodes.size() <= max_names_to_suggest_from) names = catalog.profile_names();
      throw Error(ExitCode::usage, node->origin.describe() + ": extends \"" + *node->extends +
                                       "\", which no profile file defines" + did_you_mean(*node->extends, names));
    }
    chain.push_back(*node->extends);
    node = next;
  }
  return chain;
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

void overlay(Sourced& base, const Sourced& top) { Overlayer(base).add(top); }

const ExtendsIndex& Catalog::extends_index() const {
  std::vector<std::size_t> key{sources.size()};
  for (const auto& source : sources) {
    key.push_back(reinterpret_cast<std::uintptr_t>(&source));
    key.push_back(source.profiles.size());
  }
  if (!extends_cache.index || key != extends_cache.built_from) {
    extends_cache.index = std::make_shared<const ExtendsIndex>(*this);
    extends_cache.built_from = std::move(key);
  }
  return *extends_cache.index;
}

Sourced merge_profile(const Catalog& catalog, const std::string& name, const std::vector<Sourced>& overrides) {
  std::vector<std::string> chain = extends_chain(catalog, name);
  Sourced merged;
  Overlayer overlayer(merged);
  for (auto link = chain.rbegin(); link != chain.rend(); ++link) {
    Sourced own;
    Overlayer own_overlayer(own);
    for (const auto& source : catalog.sources)
      if (auto found = source.profiles.find(*link); found != source.profiles.end()) own_overlayer.add(found->second);
    own.fields.erase("extends");
    erase_origins_under(own, "/extends");
    overlayer.add(own);
  }
  for (const auto& layer : overrides)
    overlayer.add(layer);
  return merged;
}

} // namespace launcher::profile
