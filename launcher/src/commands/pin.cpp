#include "commands/pin.hpp"

#include <sys/stat.h>

#include <memory>
#include <ostream>

#include "build/build_plan.hpp"
#include "commands/profile_request.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "engine/engine.hpp"
#include "pin/pin.hpp"
#include "profile/catalog.hpp"
#include "profile/trust.hpp"
#include "secrets/trusted_files.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;

void add_pin_command(CLI::App& app, Context& context) {
  auto profile_name = std::make_shared<std::string>("jupyter");
  CLI::App* command =
      app.add_subcommand("pin", "write the registry digest of a profile's image into the team file (launcher.json)");
  command->add_option("--profile", *profile_name, "profile whose image to pin")->capture_default_str();
  command->callback([profile_name, &context] {
    host::HostFacts host = context.host_facts();
    HostGpuSource gpus(host, context, *context.facts, gpu::Reservation::preview);
    plan::Resolution resolution =
        resolve_request({*profile_name, {}}, host, gpus.gpus, *context.err, Unapproved::report, Pinning::ignored);
    std::string tag = pin::without_digest(resolution.plan.image);
    std::string repository = pin::repository_of(tag);
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    auto image = engine->inspect_image(tag);
    if (!image) throw Error(ExitCode::failed, build::missing_image_message(matrix::embedded_matrix(), tag));
    auto digest = pin::registry_digest(*image, repository);
    if (!digest)
      throw Error(ExitCode::failed, tag + " has no registry digest yet: push it first (`" +
                                        std::string(engine->name()) + " push " + tag +
                                        "`, or `launcher build --push`)");

    // The team file keeps its key order and formatting style; only this profile's image changes.
    fs::path team_file = resolution.team_file ? resolution.team_file->path : host.cwd / "launcher.json";
    std::error_code error;
    if (!resolution.team_file && fs::symlink_status(team_file, error).type() != fs::file_type::not_found)
      throw Error(ExitCode::failed, "not pinning into " + team_file.string() +
                                        ": the search for a team file did not use it (see the warning above)");
    nlohmann::ordered_json document{{"version", 1}, {"profiles", nlohmann::ordered_json::object()}};
    mode_t mode = 0644;
    // Content the user approved stays approved once pinned: only the image changes.
    std::optional<std::vector<std::string>> approved;
    if (fs::exists(team_file)) {
      std::string text = read_file(team_file);
      if (resolution.team_file && resolution.team_file->approved &&
          profile::content_sha256(text) == resolution.team_file->sha256)
        approved = secrets::approved_widenings(host.state_home, team_file, resolution.team_file->sha256);
      profile::parse_json_text(text, team_file.string()); // a syntax error is reported as everywhere else
      document = nlohmann::ordered_json::parse(text);
      struct stat info {};
      if (stat(team_file.c_str(), &info) == 0) mode = info.st_mode & 07777;
    }
    std::string pinned = tag + "@" + *digest;
    document["profiles"][*profile_name]["image"] = pinned;
    std::string pinned_text = document.dump(2) + "\n";
    write_file_atomically(team_file, pinned_text, mode);
    if (approved) secrets::record_trusted(host.state_home, team_file, profile::content_sha256(pinned_text), *approved);
    *context.out << "pinned " << *profile_name << " to " << pinned << " in " << team_file.string() << "\n";
  });
}

} // namespace launcher::commands
