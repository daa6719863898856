#include "commands/export.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include <fmt/format.h>

#include "commands/profile_request.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "doctor/snapshot.hpp"
#include "engine/engine.hpp"
#include "export/export.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/volumes.hpp"
#include "pin/pin.hpp"
#include "secrets/backup_credentials.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;

namespace {

// The existing output file's bytes, if it holds exactly `size` of them: a file of another size
// differs without being read, so neither a huge file nor one that grows is read whole. Opened
// without blocking (a FIFO swapped in after the check) and checked again on the open descriptor.
std::optional<std::string> read_if_size(const fs::path& file, std::size_t size, const std::string& culprit) {
  int fd = open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw Error(ExitCode::usage, culprit + "cannot read it to compare: " + std::strerror(errno));
  struct stat info {};
  std::string text;
  bool same_size = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && static_cast<std::uint64_t>(info.st_size) == size;
  if (same_size) {
    text.resize(size + 1); // one byte more: a file that grew since is not equal
    std::size_t filled = 0;
    for (ssize_t count = 0; filled < text.size(); filled += static_cast<std::size_t>(count)) {
      count = read(fd, text.data() + filled, text.size() - filled);
      if (count < 0 && errno == EINTR)
        count = 0;
      else if (count <= 0)
        break;
    }
    text.resize(filled);
  }
  close(fd);
  if (!same_size) return std::nullopt;
  return text;
}

// Checked before anything is made: an output that is not a regular file (a directory, a device
// like /dev/full or /dev/zero, a FIFO), one that cannot be written, or one that would replace a
// different file without --force, is a usage error naming it. Returns the file to write: the
// target of a link, so that a link (into a dotfiles repository, say) stays a link.
fs::path check_output(const fs::path& file, const std::string& text, bool force) {
  std::string culprit = "command line (--output " + file.string() + "): ";
  struct stat link {
  }, info{};
  bool exists = stat(file.c_str(), &info) == 0;
  if (!exists && errno != ENOENT) throw Error(ExitCode::usage, culprit + "cannot look at it: " + std::strerror(errno));
  // Where a link leads, followed link by link (a dangling one too: the export makes its target).
  fs::path written = fs::absolute(file);
  std::string through_link;
  for (int hops = 0; lstat(written.c_str(), &link) == 0 && S_ISLNK(link.st_mode); ++hops) {
    std::error_code error;
    fs::path target = fs::read_symlink(written, error);
    if (error || hops == 40)
      throw Error(ExitCode::usage,
                  culprit + "cannot follow the link: " + (error ? error.message() : "too many links in a row"));
    written = fs::weakly_canonical(written.parent_path() / target, error);
    if (error) throw Error(ExitCode::usage, culprit + "cannot follow the link: " + error.message());
    through_link = "a link to " + written.string() + ", ";
  }
  if (exists && !S_ISREG(info.st_mode))
    throw Error(ExitCode::usage, culprit + "is " + through_link + describe_file_type(info.st_mode) +
                                     ", not a regular file; export writes a file (or standard output without -o)");
  if (exists && !force && read_if_size(file, text.size(), culprit) != text)
    throw Error(ExitCode::usage, culprit + "the file exists and differs from this export; --force replaces it");
  fs::path directory = written.parent_path();
  if (access(directory.c_str(), W_OK) != 0)
    throw Error(ExitCode::usage, culprit + "cannot write in " +
                                     (file.parent_path().empty() ? fs::path(".") : directory).string() + ": " +
                                     std::strerror(errno));
  return written;
}

// Beside a compose file that names variables: a .env listing them, empty, mode 0600, made only
// where none exists (O_EXCL, no link followed). An existing one holds the user's values: it is
// never rewritten, and the names it lacks are listed.
void write_env_template(const fs::path& compose_file, const std::vector<std::string>& names, std::ostream& err) {
  fs::path env_file = compose_file.parent_path() / ".env";
  std::string text = exporting::env_file_template(names, compose_file.filename().string());
  int fd = open(env_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int error = errno;
    if (close(fd) != 0 || !written)
      throw Error(ExitCode::failed, "failed to write " + env_file.string() + ": " + std::strerror(error));
    err << "launcher: wrote " << env_file.string() << " (mode 0600): fill in the values of "
        << fmt::format("{}", fmt::join(names, ", ")) << "\n";
    return;
  }
  if (errno != EEXIST)
    throw Error(ExitCode::failed, "failed to create " + env_file.string() + ": " + std::strerror(errno));
  std::vector<std::string> missing = names;
  struct stat info {};
  if (stat(env_file.c_str(), &info) == 0 && S_ISREG(info.st_mode)) try {
      missing = exporting::names_missing_from(read_file(env_file, 1 << 20), names);
    } catch (const Error&) { // one we cannot read or a huge one: every name is said
    }
  if (!missing.empty())
    err << "launcher: warning: " << env_file.string() << " exists and was left as it is; add "
        << fmt::format("{}", fmt::join(missing, ", ")) << " to it (or set them in the shell that runs Compose)\n";
}

// The engine an exported file is written for: this host's. Its network is made with the engine's
// own commands and options; a compose file's health check start interval needs Docker Engine 25 or
// later, as `docker version` tells it (one that does not answer gets the file every engine takes).
exporting::Engine export_engine(exporting::Format format, HostGpuSource& host, const plan::Plan& plan) {
  const engine::Engine& engine = *host.engine;
  exporting::Engine target;
  if (format == exporting::Format::compose && engine.kind() == engine::EngineKind::docker) {
    facts::Fact version = host.queries.docker_version();
    doctor::DockerFacts docker = doctor::parse_docker_facts(&version, nullptr);
    target = exporting::engine_of(docker.reach == doctor::DockerFacts::Reach::reachable ? docker.server_version : "");
  }
  return lifecycle::export_target(engine, plan, target);
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
    host::HostFacts host = context.host_facts();
    // The GPUs `up` would take now; the exported container's io.launcher.gpus label holds them once it runs.
    HostGpuSource gpus(host, context, *context.facts, gpu::Reservation::preview);
    plan::Resolution resolution = resolve_request(options->request, host, gpus.gpus, *context.err, Unapproved::refuse);
    const plan::Plan& plan = resolution.plan;
    pin::verify_pinned_image(*gpus.engine, plan.image, resolution.profile.origin_of("/image"));
    const std::optional<secrets::AwsCredentials> backup_keys = secrets::read_backup_credentials(plan, host.home);
    exporting::Exported exported =
        exporting::export_plan(plan, format, options->lossy, export_engine(format, gpus, plan));
    fs::path output;
    if (!options->output.empty()) output = check_output(options->output, exported.text, options->force);
    *context.err << exporting::lossy_warnings(exported.dropped, "the export");

    // What `up` makes before it starts the container, so that Compose or the devcontainer CLI
    // finds it: the volumes to create, the network, the secrets the mount hands over.
    lifecycle::create_volume_directories(plan);
    // Not the env's own network: a Compose file declares it (Compose makes it and `compose down`
    // removes it), a devcontainer's initializeCommand makes it at each start (`launcher down`
    // removes it); one made here would outlast every export that is never started.
    if (plan.network != plan::own_network(plan.env)) lifecycle::ensure_network(*context.container_engine(), plan);
    secrets::ensure_env_secrets(plan, host.home);
    if (backup_keys)
      secrets::store_backup_credentials(host::state_layout(EnvName::parse(plan.env), host.state_home), *backup_keys);

    if (output.empty())
      *context.out << exported.text; // checked when the command ends (cli::run)
    else
      write_file_atomically(output, exported.text, 0600); // it names the env's secrets directory
    // Podman runs a compose file as `podman compose` (4.7 and later, through docker-compose or
    // podman-compose); without it the file still serves, but this host cannot start it as it is.
    if (format == exporting::Format::compose && gpus.engine->kind() == engine::EngineKind::podman &&
        !gpus.engine->compose_available())
      *context.err << "launcher: note: `podman compose` does not answer on this host: Podman 4.7 or later with "
                      "docker-compose or podman-compose installed runs the file\n";
    const std::vector<std::string>& names = exported.environment_names;
    if (names.empty()) return;
    if (format == exporting::Format::devcontainer)
      *context.err << "launcher: the container's " << fmt::format("{}", fmt::join(names, ", "))
                   << " come from the environment the devcontainer CLI runs in (${localEnv:NAME}); no value is "
                      "written\n";
    else if (output.empty())
      *context.err << "launcher: the container's " << fmt::format("{}", fmt::join(names, ", "))
                   << " come from the shell that runs Compose or a .env beside the compose file; no value is "
                      "written\n";
    else
      write_env_template(fs::absolute(options->output), names, *context.err);
  });
}

} // namespace launcher::commands
