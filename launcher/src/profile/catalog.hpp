#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/json_text.hpp"
#include "profile/origin.hpp"
#include "profile/schema.hpp"

namespace launcher::profile {

// One file of profiles (or the built-in set), validated and normalized.
struct ProfileSource {
  std::string name;                        // its path, or "built-in"
  std::map<std::string, Sourced> profiles; // profile name -> its layer, as validation left it
  bool require_pinned_image = false;       // the team insists on images pinned by digest
};

// At most this many `extends` are followed from one profile: a longer chain is an error (a
// team file is input, and resolving it must stay cheap whatever it holds).
inline constexpr std::size_t max_extends_depth = 64;

// Where each profile's `extends` leads (defined in catalog.cpp).
struct ExtendsIndex;

// The team file a catalog holds: where it is, its source's name, the hash of the bytes read.
struct TeamFile {
  std::filesystem::path path;
  std::string source; // its ProfileSource's name, which its values' origins carry
  std::string sha256;
  std::vector<VariableRead> variables = {}; // what its ${NAME}s took from the launcher's environment
};

// Every source, lowest precedence first: built-in < user file < team file.
struct Catalog {
  std::vector<ProfileSource> sources;
  std::optional<TeamFile> team = {};    // absent: no team file is used
  std::string team_search_warning = {}; // a launcher.json the search left unused, and why (profile/trust.hpp)

  std::vector<std::string> profile_names() const;
  std::vector<std::string> sources_defining(const std::string& profile) const;
  // The source that demands pinned images, if any does.
  const ProfileSource* pinning_source() const;

  // Built in linear time on first use, so that merging every profile of a file stays linear
  // too; built again when the sources, or the number of profiles in one, change.
  const ExtendsIndex& extends_index() const;
  struct ExtendsCache {
    std::shared_ptr<const ExtendsIndex> index;
    std::vector<std::size_t> built_from; // the sources' addresses and sizes
  };
  mutable ExtendsCache extends_cache = {}; // extends_index()'s own
};

// Parses and validates one profile file: {"version": 1, "profiles": {"<name>": {...}}}.
ProfileSource parse_profile_source(std::string_view text, const FieldContext& context);

// The profile as every source defines it, `extends` followed, then `overrides` (flags) on top.
// Throws Error(usage) for a missing profile or extends target, an extends cycle (shown, cut
// short when long) and a chain of more than max_extends_depth extends.
Sourced merge_profile(const Catalog& catalog, const std::string& name, const std::vector<Sourced>& overrides = {});

// Lays `top` over `base`: maps (env, labels, ulimits, resources, jupyter, ssh) merge by key, ports by
// container port and protocol, volumes by container path; any other field is replaced.
void overlay(Sourced& base, const Sourced& top);

// A validated profile object from one source as a layer, each value's origin recorded.
// An empty `pointer` marks a command-line flag: its origins name the flag alone.
Sourced as_layer(nlohmann::json fields, const std::string& source, const std::string& pointer,
                 const TypedFields& typed = {});

// Validates one profile object (normalize_profile) and makes it a layer (as_layer).
Sourced validated_layer(nlohmann::json fields, const FieldContext& context, const std::string& pointer);

} // namespace launcher::profile
