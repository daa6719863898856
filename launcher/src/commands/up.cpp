#include "commands/up.hpp"

#include <memory>
#include <ostream>

#include "commands/profile_request.hpp"
#include "commands/render.hpp"
#include "core/error.hpp"
#include "render/render.hpp"

namespace launcher::commands {

void add_up_command(CLI::App& app, Context& context) {
  struct Options {
    ProfileRequest request;
    bool dry_run = false;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("up", "start an environment from a profile");
  add_profile_options(*command, options->request);
  command->add_flag("--dry-run", options->dry_run, "print what would run, run nothing");
  command->add_flag("--json", options->json, "print the result as JSON");
  command->callback([options, &context] {
    plan::Resolution resolution = resolve_request(options->request);
    if (!options->dry_run)
      throw Error(ExitCode::failed,
                  "starting containers is not implemented yet; `launcher up --dry-run` shows what would run");
    if (options->json) {
      *context.out << resolution_json(context.docker, resolution).dump(2) << "\n";
      return;
    }
    for (const auto& directory : resolution.plan.create_directories)
      *context.out << "# would create " << render::shell_quote(directory) << "\n";
    *context.out << render::render_run_command(context.docker, resolution.plan).display() << "\n";
  });
}

} // namespace launcher::commands
