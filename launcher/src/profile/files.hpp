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

// The nearest launcher.json in `start` or one of its parents: the nearest name that exists,
// whatever it is (a broken one is an error when read, not a reason to use a parent's).
std::optional<std::filesystem::path> find_team_file(const std::filesystem::path& start);

// Reads and validates built-in < user file < team file; a missing user file is skipped;
// a file that is not a regular one (directory, FIFO, device, dangling link) is an Error naming it.
Catalog load_catalog(const ProfileLocations& locations);

} // namespace launcher::profile
