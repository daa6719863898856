#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "commands/context.hpp"
#include "docker/docker.hpp"
#include "facts/facts.hpp"
#include "gpu/placement.hpp"
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

// This host's GPUs for resolution, through nvidia-smi (or recorded answers) and Docker's labels.
// `up` records the GPUs it chooses; every other command previews them.
struct HostGpuSource {
  HostGpuSource(const host::HostFacts& host, const Context& context, facts::FactSource& facts,
                gpu::Reservation reservation);

  docker::Docker docker;
  facts::HostQueries queries;
  gpu::HostGpus gpus;
};

// A layer a command lays over the merged profile (flags included), made from it: a batch job's.
using FinalLayer = std::function<profile::Sourced(const profile::Sourced& merged)>;

// Loads every profile source of this host and directory, applies the flags (then `final_layer`,
// when given) and resolves, GPUs placed through `gpus`. A team file with "require_pinned_image"
// refuses an unpinned image, except for `pin` itself.
plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host, plan::GpuHost& gpus,
                                 Pinning pinning = Pinning::required_when_demanded,
                                 const FinalLayer& final_layer = nullptr);

} // namespace launcher::commands
