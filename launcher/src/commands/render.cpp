#include "commands/render.hpp"

#include <memory>
#include <ostream>

#include "commands/profile_request.hpp"
#include "host/state_layout.hpp"
#include "pin/pin.hpp"
#include "render/render.hpp"
#include "render/resolution_json.hpp"

namespace launcher::commands {

void add_render_command(CLI::App& app, Context& context) {
  struct Options {
    ProfileRequest request;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("render", "print the docker run command a profile resolves to");
  add_profile_options(*command, options->request);
  command->add_flag("--json", options->json, "print the argv, the resolved plan and each value's origin as JSON");
  command->callback([options, &context] {
    host::HostFacts host = context.host_facts();
    HostGpuSource gpus(host, context, *context.facts, gpu::Reservation::preview);
    plan::Resolution resolution = resolve_request(options->request, host, gpus.gpus, *context.err, Unapproved::warn);
    for (const auto& warning : resolution.warnings)
      *context.err << "launcher: warning: " << warning << "\n";
    pin::verify_pinned_image(*gpus.engine, resolution.plan.image, resolution.profile.origin_of("/image"));
    // Where `up` would put the env's values: the preview shows their names, never the values.
    std::string env_file =
        host::state_layout(EnvName::parse(resolution.plan.env), host.state_home).run_environment().string();
    // The engine's own command: its first word names the engine, and --json says it as "engine".
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    render::ContainerCommand run = engine->container_command(engine::Launch::detached, resolution.plan, env_file);
    if (options->json)
      *context.out << render::resolution_json(run, engine->name(), resolution).dump(2) << "\n";
    else
      *context.out << run.display() << "\n";
  });
}

} // namespace launcher::commands
