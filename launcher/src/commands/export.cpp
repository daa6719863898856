#include "commands/export.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <ostream>

#include "commands/profile_request.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "docker/docker.hpp"
#include "export/export.hpp"
#include "lifecycle/environments.hpp"
#include "pin/pin.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;

namespace {

// Checked before anything is made: an output that cannot be written, or that would replace a
// different file without --force, is a usage error naming it.
void check_output(const fs::path& file, const std::string& text, bool force) {
  std::string culprit = "command line (--output " + file.string() + "): ";
  if (fs::is_directory(file)) throw Error(ExitCode::usage, culprit + "is a directory");
  if (fs::exists(file) && !force) {
    if (read_file_if_present(file) != text)
      throw Error(ExitCode::usage, culprit + "the file exists and differs from this export; --force replaces it");
  }
  fs::path directory = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (access(directory.c_str(), W_OK) != 0)
    throw Error(ExitCode::usage, culprit + "cannot write in " + directory.string() + ": " + std::strerror(errno));
}

} // namespace

void add_export_command(CLI::App& app, Context& context) {
  struct Options {
    ProfileRequest request;
    std::string format;
    std::string output;
    bool force = false;
    bool lossy = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "export", "write the environment a profile resolves to as a Compose file or a devcontainer.json");
  add_profile_options(*command, options->request);
  command->add_option("--format", options->format, "compose | devcontainer")->required();
  command->add_option("-o,--output", options->output, "write the file here (atomically) instead of to standard output");
  command->add_flag("--force", options->force, "replace an existing output file that differs");
  command->add_flag("--lossy", options->lossy,
                    "leave out, and list, what the format cannot express instead of refusing");
  command->callback([options, &context] {
    exporting::Format format = exporting::parse_format(options->format);
    host::HostFacts host = host::read_host_facts();
    // The GPUs `up` would take now; the exported container's io.launcher.gpus label holds them once it runs.
    HostGpuSource gpus(host, context, *context.facts, gpu::Reservation::preview);
    plan::Resolution resolution = resolve_request(options->request, host, gpus.gpus);
    const plan::Plan& plan = resolution.plan;
    const docker::Docker& docker = gpus.docker;
    pin::verify_pinned_image(docker, plan.image, resolution.profile.origin_of("/image"));
    exporting::Exported exported = exporting::export_plan(plan, format, options->lossy);
    if (!options->output.empty()) check_output(options->output, exported.text, options->force);
    for (const auto& field : exported.dropped)
      *context.err << "launcher: warning: left out of the export: the plan's \"" << field.substr(1) << "\" (--lossy)\n";

    // What `up` makes before it starts the container, so that Compose or the devcontainer CLI
    // finds it: the volumes to create, the network, the secrets the mount hands over.
    for (const auto& directory : plan.create_directories)
      fs::create_directories(directory);
    // A Compose file declares the env's own network itself (one made here would be no Compose
    // network, which Compose warns about).
    if (format == exporting::Format::devcontainer || plan.network != plan::own_network(plan.env))
      lifecycle::ensure_network(docker, plan);
    secrets::ensure_env_secrets(plan, host.home);

    if (options->output.empty()) *context.out << exported.text;
    // Absolute: the atomic writer syncs the file's directory, which a bare name leaves empty.
    else
      write_file_atomically(fs::absolute(options->output), exported.text, 0644);
  });
}

} // namespace launcher::commands
