#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "plan/resolve.hpp"
#include "profile/files.hpp"
#include "profile/flags.hpp"

namespace launcher::commands {

// The profile a command acts on, and the flags laid over it.
struct ProfileRequest {
  std::string profile = "jupyter";
  profile::FlagOverrides flags;
};

// --profile, --gpus, -p/--port, -v/--volume, --image, --name, -e/--env.
void add_profile_options(CLI::App& command, ProfileRequest& request);

// Profile files are looked for from the working directory; variables come from the environment.
profile::ProfileLocations profile_locations(const host::HostFacts& host);

enum class Pinning { required_when_demanded, ignored };

// Loads every profile source of this host and directory, applies the flags and resolves.
// A team file with "require_pinned_image" refuses an unpinned image, except for `pin` itself.
plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host,
                                 Pinning pinning = Pinning::required_when_demanded);

} // namespace launcher::commands
