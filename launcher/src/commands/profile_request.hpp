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

// Loads every profile source of this host and directory, applies the flags and resolves.
plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host);

} // namespace launcher::commands
