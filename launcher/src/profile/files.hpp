#pragma once

#include <filesystem>
#include <optional>

#include "profile/catalog.hpp"
#include "profile/interpolate.hpp"

namespace launcher::profile {

// Where profile files are looked for, and what they may interpolate.
struct ProfileLocations {
  std::filesystem::path cwd;
  std::filesystem::path home;
  EnvLookup env;
};

// $XDG_CONFIG_HOME/launcher/profiles.json, with XDG's default of ~/.config.
std::filesystem::path user_profile_file(const ProfileLocations& locations);

// The nearest launcher.json in `start` or one of its parents.
std::optional<std::filesystem::path> find_team_file(const std::filesystem::path& start);

// Reads and validates built-in < user file < team file; missing files are skipped.
Catalog load_catalog(const ProfileLocations& locations);

} // namespace launcher::profile
