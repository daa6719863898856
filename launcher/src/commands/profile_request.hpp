#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands/context.hpp"
#include "engine/engine.hpp"
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

// What a command does when the team file widens what the env may do and its content is not
// approved (profile/trust.hpp).
enum class Unapproved {
  refuse, // up (--dry-run too), submit, export: an Error naming the file, the key and `launcher trust`
  warn,   // render, a preview: one warning line, and the command goes on
  report, // doctor, pin: no line; the Resolution's team_file says it
};

// The merged profiles of every name the team file defines (one that cannot be merged is left
// out: its own command reports it).
std::vector<profile::Sourced> team_profiles(const profile::Catalog& catalog);

// The catalog's team file judged on `profiles` (merged): what in them it widens, and whether
// its content is approved; nullopt without a team file.
std::optional<profile::TeamFileTrust> team_file_trust(const profile::Catalog& catalog,
                                                      const std::vector<profile::Sourced>& profiles,
                                                      const host::HostFacts& host);

// This host's GPUs for resolution, through nvidia-smi (or recorded answers) and Docker's labels.
// `up` records the GPUs it chooses (waiting its turn for them with `wait`); every other command
// previews them.
struct HostGpuSource {
  HostGpuSource(const host::HostFacts& host, const Context& context, facts::FactSource& facts,
                gpu::Reservation reservation, std::optional<gpu::GpuWait> wait = std::nullopt);
  // `queries` and `gpus` refer to `engine` and to each other: a copy (or a move) would refer to this one's.
  HostGpuSource(const HostGpuSource&) = delete;
  HostGpuSource& operator=(const HostGpuSource&) = delete;

  std::unique_ptr<engine::Engine> engine; // the context's; queries and gpus ask it
  facts::HostQueries queries;
  gpu::HostGpus gpus;
};

// The image the built-in profiles run when no profile file, team pin or --image names one, as a
// layer under every profile source: the one recorded in the user's state (`launcher
// default-image`, which `make up` calls), with that file as its origin; nothing when none is
// recorded (resolution's default is then the image `make up` builds). A recorded value that is
// no image reference is an Error naming the file.
std::optional<profile::Sourced> recorded_default_image_layer(const host::HostFacts& host);

// A layer a command lays over the merged profile (flags included), made from it: a batch job's.
using FinalLayer = std::function<profile::Sourced(const profile::Sourced& merged)>;

// Loads every profile source of this host and directory, applies the flags (then `final_layer`,
// when given) and resolves, GPUs placed through `gpus`. A team file with "require_pinned_image"
// refuses an unpinned image, except for `pin` itself. A team file that widens what the env may do
// without approval is handled as `unapproved` says, before any GPU is placed; the search's warning
// and the preview's go to `notices`.
plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host, plan::GpuHost& gpus,
                                 std::ostream& notices, Unapproved unapproved,
                                 Pinning pinning = Pinning::required_when_demanded,
                                 const FinalLayer& final_layer = nullptr);

} // namespace launcher::commands
