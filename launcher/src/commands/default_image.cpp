#include "commands/default_image.hpp"

#include <memory>
#include <ostream>

#include <nlohmann/json.hpp>

#include "build/build_plan.hpp"
#include "commands/profile_request.hpp"
#include "core/error.hpp"
#include "matrix/matrix.hpp"
#include "profile/catalog.hpp"
#include "secrets/default_image.hpp"

namespace launcher::commands {

void add_default_image_command(CLI::App& app, Context& context) {
  struct Options {
    std::string image;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "default-image", "record the image the built-in profiles run when no profile, team pin or --image names one "
                       "(make up records the one it built); without IMAGE, show it");
  command->add_option("IMAGE", options->image, "an image on this host");
  command->add_flag("--json", options->json, "print the default image and where it comes from as JSON");
  command->callback([options, &context] {
    host::HostFacts host = host::read_host_facts();
    if (!options->image.empty()) {
      // Checked as a profile's "image" is, before the engine is asked.
      profile::FieldContext flag{"IMAGE", host.cwd, host.home, nullptr};
      profile::validated_layer(nlohmann::json{{"image", options->image}}, flag, "");
      if (!context.container_engine()->inspect_image(options->image))
        throw Error(ExitCode::failed, build::missing_image_message(matrix::embedded_matrix(), options->image));
      secrets::record_default_image(host.state_home, options->image);
    }
    std::optional<profile::Sourced> recorded = recorded_default_image_layer(host);
    std::string image =
        recorded ? recorded->fields["image"].get<std::string>() : matrix::default_image_tag(matrix::embedded_matrix());
    std::string record = secrets::default_image_record(host.state_home).string();
    if (options->json) {
      *context.out << nlohmann::json{{"image", image}, {"recorded", recorded.has_value()}, {"record", record}}.dump()
                   << "\n";
      return;
    }
    *context.out << image
                 << (recorded ? " (recorded in " + record + ")"
                              : " (nothing recorded in " + record + ": the image `make up` builds)")
                 << ": the built-in profiles run it unless a profile file, the team's pin or --image names another\n";
  });
}

} // namespace launcher::commands
