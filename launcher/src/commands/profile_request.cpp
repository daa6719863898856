#include "commands/profile_request.hpp"

#include <algorithm>
#include <cstdlib>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "pin/pin.hpp"
#include "profile/catalog.hpp"
#include "profile/trust.hpp"
#include "secrets/default_image.hpp"
#include "secrets/trusted_files.hpp"

namespace launcher::commands {

void add_profile_options(CLI::App& command, ProfileRequest& request) {
  command.add_option("--profile", request.profile, "profile to use (built-in: jupyter, ssh, shell)")
      ->capture_default_str();
  command.add_option(
      "--gpus", request.flags.gpus,
      "all | none | auto | N (the first N) | device=0,1 | GPU UUIDs | '{\"count\": N}' (N chosen on the host)");
  // One value per -p, -v and -e, as docker run takes them: a list option would also swallow what
  // follows it, up to and including a `--` and the command after it.
  command.add_option("-p,--port", request.flags.ports, "publish [IP:]HOST:CONTAINER[/tcp|udp]; HOST may be auto")
      ->allow_extra_args(false);
  command.add_option("-v,--volume", request.flags.volumes, "bind mount HOST:CONTAINER[:ro|:rw]")
      ->allow_extra_args(false);
  command.add_option("--image", request.flags.image, "image reference");
  command.add_option("--name", request.flags.name, "environment (and container) name")->check(env_name_validator());
  command.add_option("--user", request.flags.user,
                     "who the env runs as: host (you; under sudo, who ran sudo), root, or UID:GID[:NAME]");
  command
      .add_option("-e,--env", request.flags.env,
                  "set NAME=VALUE in the container; NAME alone takes the value from the environment")
      ->allow_extra_args(false);
}

profile::ProfileLocations profile_locations(const host::HostFacts& host) {
  return {host.cwd, host.home,
          [](const std::string& name) -> std::optional<std::string> {
            const char* value = std::getenv(name.c_str());
            return value ? std::optional<std::string>(value) : std::nullopt;
          },
          // As git does for safe.directory: root through sudo trusts the directories of who ran sudo.
          host.sudo_invoker ? host.sudo_invoker->uid : host.uid, host::real_path_probe()};
}

std::vector<profile::Sourced> team_profiles(const profile::Catalog& catalog) {
  std::vector<profile::Sourced> merged;
  if (!catalog.team) return merged;
  for (const auto& name : catalog.profile_names()) {
    std::vector<std::string> sources = catalog.sources_defining(name);
    if (std::find(sources.begin(), sources.end(), catalog.team->source) == sources.end()) continue;
    try {
      merged.push_back(profile::merge_profile(catalog, name));
    } catch (const Error&) {}
  }
  return merged;
}

std::optional<profile::TeamFileTrust> team_file_trust(const profile::Catalog& catalog,
                                                      const std::vector<profile::Sourced>& profiles,
                                                      const host::HostFacts& host) {
  if (!catalog.team) return std::nullopt;
  profile::TeamFileTrust trust{catalog.team->path, catalog.team->sha256, false, {}};
  host::PathProbe paths = host::real_path_probe();
  for (const auto& merged : profiles)
    for (auto& widening : profile::widenings(merged, catalog.team->source, catalog.team->path.parent_path(), paths))
      if (std::find(trust.widens.begin(), trust.widens.end(), widening) == trust.widens.end())
        trust.widens.push_back(std::move(widening));
  // A file's ${NAME}s are read whichever of its profiles is used.
  for (auto& widening : profile::variable_widenings(catalog.team->source, catalog.team->variables))
    trust.widens.push_back(std::move(widening));
  // A file that widens nothing needs no record (and a damaged record cannot stop it).
  if (!trust.widens.empty())
    profile::judge_approval(trust, secrets::approved_widenings(host.state_home, trust.path, trust.sha256));
  return trust;
}

std::optional<profile::Sourced> recorded_default_image_layer(const host::HostFacts& host) {
  std::optional<std::string> image = secrets::recorded_default_image(host.state_home);
  if (!image) return std::nullopt;
  profile::FieldContext context{secrets::default_image_record(host.state_home).string(), host.cwd, host.home, nullptr};
  return profile::validated_layer(nlohmann::json{{"image", *image}}, context, "");
}

HostGpuSource::HostGpuSource(const host::HostFacts& host, const Context& context, facts::FactSource& facts,
                             gpu::Reservation reservation, std::optional<gpu::GpuWait> wait)
    : engine(context.container_engine()), queries(facts, *engine),
      gpus(queries,
           gpu::live_placement_context(host.user_name, host.uid, context.gpu_table_for(host.state_home), *engine,
                                       *context.clock, *context.err, context.gpu_sharing()),
           reservation, wait) {}

plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host, plan::GpuHost& gpus,
                                 std::ostream& notices, Unapproved unapproved, Pinning pinning,
                                 const FinalLayer& final_layer) {
  profile::ProfileLocations locations = profile_locations(host);
  profile::Catalog catalog = profile::load_catalog(locations);
  if (!catalog.team_search_warning.empty()) notices << "launcher: warning: " << catalog.team_search_warning << "\n";
  // The environment is read for `-e NAME` alone; flag values are never ${VAR}-expanded.
  profile::FieldContext flag_context{"command line", host.cwd, host.home, &locations.env};
  profile::Sourced merged =
      profile::merge_profile(catalog, request.profile, profile::flag_layers(request.flags, flag_context));
  if (std::optional<profile::Sourced> recorded = recorded_default_image_layer(host)) {
    profile::overlay(*recorded, merged);
    merged = std::move(*recorded);
  }
  if (final_layer) profile::overlay(merged, final_layer(merged));
  std::optional<profile::TeamFileTrust> trust = team_file_trust(catalog, {merged}, host);
  if (trust && trust->refused() && unapproved == Unapproved::refuse)
    throw Error(ExitCode::usage, profile::refusal_message(*trust));
  if (trust && trust->refused() && unapproved == Unapproved::warn)
    notices << "launcher: warning: " << profile::preview_warning(*trust) << "\n";
  plan::Resolution resolution = plan::resolve_plan(request.profile, merged, host, host::real_path_probe(), gpus);
  resolution.team_file = trust;
  const profile::ProfileSource* demanding = catalog.pinning_source();
  if (pinning == Pinning::required_when_demanded && demanding && !pin::pinned_digest(resolution.plan.image))
    throw Error(ExitCode::usage,
                demanding->name + ": require_pinned_image is true, but profile \"" + request.profile + "\" uses " +
                    resolution.plan.image + " (set by " + resolution.profile.origin_of("/image").describe() +
                    "), which is not pinned by digest; `launcher pin --profile " + request.profile + "` pins it");
  return resolution;
}

} // namespace launcher::commands
