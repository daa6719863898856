#include "commands/profile_request.hpp"

#include <cstdlib>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "pin/pin.hpp"
#include "profile/catalog.hpp"

namespace launcher::commands {

void add_profile_options(CLI::App& command, ProfileRequest& request) {
  command.add_option("--profile", request.profile, "profile to use (built-in: jupyter, ssh, shell)")
      ->capture_default_str();
  command.add_option(
      "--gpus", request.flags.gpus,
      "all | none | auto | N (the first N) | device=0,1 | GPU UUIDs | '{\"count\": N}' (N chosen on the host)");
  command.add_option("-p,--port", request.flags.ports, "publish [IP:]HOST:CONTAINER[/tcp|udp]; HOST may be auto");
  command.add_option("-v,--volume", request.flags.volumes, "bind mount HOST:CONTAINER[:ro|:rw]");
  command.add_option("--image", request.flags.image, "image reference");
  command.add_option("--name", request.flags.name, "environment (and container) name")->check(env_name_validator());
  command.add_option("-e,--env", request.flags.env, "set NAME=VALUE in the container");
}

profile::ProfileLocations profile_locations(const host::HostFacts& host) {
  return {host.cwd, host.home, [](const std::string& name) -> std::optional<std::string> {
            const char* value = std::getenv(name.c_str());
            return value ? std::optional<std::string>(value) : std::nullopt;
          }};
}

HostGpuSource::HostGpuSource(const host::HostFacts& host, const Context& context, facts::FactSource& facts,
                             gpu::Reservation reservation)
    : docker(context.docker_cli()), queries(facts, docker.binary()),
      gpus(queries,
           gpu::live_placement_context(host.user_name, host.uid, context.gpu_table_for(host.state_home), docker),
           reservation) {}

plan::Resolution resolve_request(const ProfileRequest& request, const host::HostFacts& host, plan::GpuHost& gpus,
                                 Pinning pinning, const FinalLayer& final_layer) {
  profile::Catalog catalog = profile::load_catalog(profile_locations(host));
  profile::FieldContext flag_context{"command line", host.cwd, host.home, nullptr};
  profile::Sourced merged =
      profile::merge_profile(catalog, request.profile, profile::flag_layers(request.flags, flag_context));
  if (final_layer) profile::overlay(merged, final_layer(merged));
  plan::Resolution resolution = plan::resolve_plan(request.profile, merged, host, host::real_path_probe(), gpus);
  const profile::ProfileSource* demanding = catalog.pinning_source();
  if (pinning == Pinning::required_when_demanded && demanding && !pin::pinned_digest(resolution.plan.image))
    throw Error(ExitCode::usage,
                demanding->name + ": require_pinned_image is true, but profile \"" + request.profile + "\" uses " +
                    resolution.plan.image + " (set by " + resolution.profile.origin_of("/image").describe() +
                    "), which is not pinned by digest; `launcher pin --profile " + request.profile + "` pins it");
  return resolution;
}

} // namespace launcher::commands
