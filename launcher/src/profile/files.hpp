#pragma once

#include <filesystem>
#include <optional>

#include "host/host_facts.hpp"
#include "profile/catalog.hpp"
#include "profile/interpolate.hpp"
#include "profile/trust.hpp"

namespace launcher::profile {

// Where profile files are looked for, and what they may interpolate.
struct ProfileLocations {
  std::filesystem::path cwd;
  std::filesystem::path home;
  EnvLookup env;
  unsigned uid;          // the user whose files (and root's) the search for a team file trusts
  host::PathProbe paths; // how that search examines directories
};

// $XDG_CONFIG_HOME/launcher/profiles.json, with XDG's default of ~/.config.
std::filesystem::path user_profile_file(const ProfileLocations& locations);

// The team file search_team_file finds from the working directory (with its warning).
TeamFileSearch find_team_file(const ProfileLocations& locations);

// Reads and validates built-in < user file < team file; a missing user file is skipped;
// a file that is not a regular one (directory, FIFO, device, dangling link) is an Error naming it.
// The catalog names the team file it used, with the hash of the bytes it read, and the
// search's warning.
Catalog load_catalog(const ProfileLocations& locations);

} // namespace launcher::profile
