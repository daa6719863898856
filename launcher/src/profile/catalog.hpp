#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/origin.hpp"
#include "profile/schema.hpp"

namespace launcher::profile {

// One file of profiles (or the built-in set), validated and normalized.
struct ProfileSource {
  std::string name;                        // its path, or "built-in"
  std::map<std::string, Sourced> profiles; // profile name -> its layer, as validation left it
  bool require_pinned_image = false;       // the team insists on images pinned by digest
};

// Every source, lowest precedence first: built-in < user file < team file.
struct Catalog {
  std::vector<ProfileSource> sources;

  std::vector<std::string> profile_names() const;
  std::vector<std::string> sources_defining(const std::string& profile) const;
  // The source that demands pinned images, if any does.
  const ProfileSource* pinning_source() const;
};

// Parses JSON text; a syntax error throws Error naming source, line and column.
nlohmann::json parse_json_text(std::string_view text, const std::string& source_name);

// Parses and validates one profile file: {"version": 1, "profiles": {"<name>": {...}}}.
ProfileSource parse_profile_source(std::string_view text, const FieldContext& context);

// The profile as every source defines it, `extends` followed, then `overrides` (flags) on top.
// Throws Error(usage) for a missing profile or extends target and for an extends cycle.
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
