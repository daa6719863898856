#include "commands/render.hpp"

#include <memory>
#include <ostream>

#include "commands/profile_request.hpp"
#include "docker/docker.hpp"
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
    host::HostFacts host = host::read_host_facts();
    HostGpuSource gpus(host, context, *context.facts, gpu::Reservation::preview);
    plan::Resolution resolution = resolve_request(options->request, host, gpus.gpus);
    pin::verify_pinned_image(context.docker_cli(), resolution.plan.image, resolution.profile.origin_of("/image"));
    if (options->json)
      *context.out << render::resolution_json(context.docker, resolution).dump(2) << "\n";
    else
      *context.out << render::render_run_command(context.docker, resolution.plan).display() << "\n";
  });
}

} // namespace launcher::commands
