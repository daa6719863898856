#include "engine/docker_engine.hpp"

#include <unistd.h>

#include "build/buildkit.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::engine {

namespace {

// The runner spawns its own CLI: a command made whole for a person (or a Compose file) loses its first word.
std::vector<std::string> without_cli(const std::vector<std::string>& command) {
  return {command.begin() + 1, command.end()};
}

} // namespace

std::string_view engine_name(EngineKind kind) {
  switch (kind) {
  case EngineKind::docker:
    return "docker";
  case EngineKind::podman:
    return "podman";
  }
  return "docker";
}

render::ContainerCommand DockerEngine::container_command(Launch launch, const plan::Plan& plan,
                                                         const std::string& env_file) const {
  render::ContainerCommand command = render::render_container_command(plan, env_file);
  command.program = {cli_.binary()};
  if (launch == Launch::detached)
    command.program.insert(command.program.end(), {"run", "-d"});
  else
    command.program.push_back("create");
  return command;
}

void DockerEngine::run(const render::ContainerCommand& command, const std::string& action) const {
  cli_.run(without_cli(command.argv()), action);
}

void DockerEngine::start(const std::string& container) const { cli_.run({"start", container}, "start " + container); }

void DockerEngine::stop(const std::string& container, std::chrono::seconds grace) const {
  cli_.run({"stop", "--time", std::to_string(grace.count()), container}, "stop " + container);
}

void DockerEngine::remove(const std::string& container) const { cli_.run({"rm", container}, "remove " + container); }

bool DockerEngine::remove_forced(const std::string& container) const {
  return cli_.try_run({"rm", "-f", container}).exit_code == 0;
}

std::optional<nlohmann::json> DockerEngine::inspect(const std::string& kind, const std::string& name) const {
  process::ProcessResult result = cli_.try_run({kind, "inspect", name});
  if (result.exit_code != 0) {
    if (docker::names_missing_object(result.err, kind)) return std::nullopt;
    throw Error(ExitCode::failed, docker::explain_failure("inspect " + kind + " " + name, result));
  }
  return docker::parse_inspect_output(result.out, "docker " + kind + " inspect");
}

std::optional<nlohmann::json> DockerEngine::inspect_container(const std::string& name) const {
  return inspect("container", name);
}

std::optional<nlohmann::json> DockerEngine::inspect_image(const std::string& reference) const {
  return inspect("image", reference);
}

std::vector<nlohmann::json> DockerEngine::containers_labelled(const std::string& label_filter) const {
  std::string ids =
      cli_.run({"ps", "-a", "-q", "--no-trunc", "--filter", "label=" + label_filter}, "list containers").out;
  std::vector<std::string> args{"container", "inspect"};
  for (const auto& id : split(ids, '\n'))
    if (!id.empty()) args.push_back(id);
  if (args.size() == 2) return {};
  // One inspect for all of them: `ps` stays fast with many environments.
  return docker::parse_inspect_list(cli_.run(args, "inspect containers").out);
}

std::string DockerEngine::listing_format(const std::vector<std::string>& labels) const {
  return docker::listing_format(labels);
}

std::vector<docker::ListedContainer> DockerEngine::list_labelled(const std::string& label_filter,
                                                                 const std::vector<std::string>& labels) const {
  std::string lines =
      cli_.run({"ps", "-a", "--no-trunc", "--filter", "label=" + label_filter, "--format", listing_format(labels)},
               "list containers")
          .out;
  return docker::parse_listing(lines, labels);
}

std::string DockerEngine::logs_tail(const std::string& container, int lines) const {
  process::ProcessResult result = cli_.try_run({"logs", "--tail", std::to_string(lines), container});
  return escape_control_characters(result.out + result.err, Newlines::keep);
}

std::string DockerEngine::changed_files(const std::string& container) const {
  return cli_.run({"diff", container}, "list changed files of " + container).out;
}

namespace {

std::vector<std::string> exec_args(const std::string& container, const ExecAs& as,
                                   const std::vector<std::string>& command) {
  std::vector<std::string> args{"exec"};
  if (!as.user.empty()) args.insert(args.end(), {"-u", as.user});
  if (!as.workdir.empty()) args.insert(args.end(), {"-w", as.workdir});
  args.push_back(container);
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

} // namespace

process::ProcessResult DockerEngine::exec(const std::string& container, const ExecAs& as,
                                          const std::vector<std::string>& command) const {
  return cli_.try_run(exec_args(container, as, command));
}

process::ProcessResult DockerEngine::exec_checked(const std::string& container, const ExecAs& as,
                                                  const std::vector<std::string>& command,
                                                  const std::string& action) const {
  return cli_.run(exec_args(container, as, command), action);
}

void DockerEngine::exec_attached(const std::string& container, const AttachedExec& exec) const {
  std::vector<std::string> argv{cli_.binary(), "exec", exec.tty ? "-it" : "-i"};
  if (!exec.user.empty()) argv.insert(argv.end(), {"--user", exec.user});
  for (const auto& [name, value] : exec.environment)
    argv.insert(argv.end(), {"--env", name + "=" + value});
  if (!exec.workdir.empty()) argv.insert(argv.end(), {"--workdir", exec.workdir});
  argv.push_back(container);
  argv.insert(argv.end(), exec.command.begin(), exec.command.end());
  process::replace_process(argv);
}

void DockerEngine::show_logs(const std::string& container, bool follow) const {
  std::vector<std::string> argv{cli_.binary(), "logs"};
  if (follow) argv.push_back("--follow");
  argv.push_back(container);
  process::replace_process(argv);
}

// Docker before 25 writes the committed container's whole config into the image as its
// "container_config" (with every `-e` value), which no --change reaches, and a commit cannot drop a
// variable. So the container is committed into an untagged image whose environment the changes set
// back, and a container created (never started) from that image is committed as `tag`: its
// container_config is the clean one. The untagged image stays as the image's parent (removed with
// it); `docker push` and `docker save` carry only the image's own config and the layers.
bool DockerEngine::commit(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
                          const std::string& action) const {
  commit_image(container, changes, tag, action);
  return true;
}

std::string DockerEngine::commit_changes(const std::string& container, const std::vector<std::string>& changes,
                                         const std::string& tag, const std::string& action, bool pause,
                                         const std::vector<std::string>& options) const {
  std::vector<std::string> args{"commit", pause ? "--pause=true" : "--pause=false"};
  args.insert(args.end(), options.begin(), options.end());
  for (const auto& change : changes)
    args.insert(args.end(), {"--change", change});
  args.push_back(container);
  if (!tag.empty()) args.push_back(tag);
  std::string id = cli_.run(args, action).out;
  return id.substr(0, id.find_first_of(" \t\r\n"));
}

void DockerEngine::commit_image(const std::string& container, const std::vector<std::string>& changes,
                                const std::string& tag, const std::string& action) const {
  std::string first = commit_changes(container, changes, "", action, true);
  std::string scratch = "launcher-snapshot-" + container + "-" + std::to_string(getpid());
  bool done = false;
  struct Cleanup {
    const docker::Docker& cli;
    const std::string& scratch;
    const std::string& first;
    const bool& done;
    bool created = false;
    ~Cleanup() {
      if (created) cli.try_run({"container", "rm", "--force", scratch});
      if (!done && !first.empty()) cli.try_run({"image", "rm", first});
    }
  } cleanup{cli_, scratch, first, done};
  cli_.run({"create", "--name", scratch, "--network", "none", first}, action + ": create " + scratch);
  cleanup.created = true;
  cli_.run({"commit", "--pause=false", scratch, tag}, action + ": commit " + scratch);
  done = true;
}

void DockerEngine::copy_out(const std::string& container, const std::string& directory,
                            const std::string& host_directory, const std::string& action) const {
  cli_.run({"cp", container + ":" + directory + "/.", host_directory}, action);
}

// Images

std::optional<std::string> DockerEngine::builder_missing() const {
  std::string version = cli_.try_run({"version", "--format", "{{json .Client}}"}).out;
  build::DockerClient client{
      .binary = cli_.binary(),
      .version = build::parse_client_version(version, cli_.binary() + " version --format '{{json .Client}}'"),
      .buildx = cli_.try_run({"buildx", "version"}).exit_code == 0};
  if (build::has_buildkit(build::buildkit_of(client))) return std::nullopt;
  return build::missing_buildkit_message(client);
}

// A CLI before 23 hands the build to the engine's BuildKit only when asked; from 23 on, asked,
// it needs the buildx plugin instead of falling back to the legacy builder.
std::vector<std::string> DockerEngine::build_environment() const { return {"DOCKER_BUILDKIT=1"}; }

std::vector<std::string> DockerEngine::build_command(const ImageBuild& build) const {
  std::vector<std::string> argv{cli_.binary(), "build",   "--target", build.target,
                                "--tag",       build.tag, "--file",   build.dockerfile};
  for (const auto& [name, value] : build.args)
    argv.insert(argv.end(), {"--build-arg", name + "=" + value});
  argv.push_back(build.context);
  return argv;
}

process::ProcessResult DockerEngine::build_image(const ImageBuild& build, process::ProcessOptions options) const {
  for (std::string& setting : build_environment())
    options.extra_env.push_back(std::move(setting));
  return cli_.try_run(without_cli(build_command(build)), std::move(options));
}

namespace {

// `sealed`: no network, and the image never pulled (a host fact is about the images here, not a registry's).
enum class Isolation { plain, sealed };

// A container of the image that prints `file` with `cat` and is removed.
std::vector<std::string> cat_args(const std::string& image, const std::string& file, Isolation isolation) {
  std::vector<std::string> args{"run", "--rm"};
  if (isolation == Isolation::sealed) args.insert(args.end(), {"--pull", "never", "--network", "none"});
  args.insert(args.end(), {"--entrypoint", "cat", image, file});
  return args;
}

} // namespace

std::optional<std::string> DockerEngine::read_image_file(const std::string& image, const std::string& file) const {
  process::ProcessResult result = cli_.try_run(cat_args(image, file, Isolation::plain));
  if (result.exit_code != 0) return std::nullopt;
  return result.out;
}

std::string DockerEngine::read_image_file_checked(const std::string& image, const std::string& file,
                                                  const std::string& action) const {
  return cli_.run(cat_args(image, file, Isolation::plain), action).out;
}

bool DockerEngine::remove_image(const std::string& image) const {
  return cli_.try_run({"image", "rm", image}).exit_code == 0;
}

void DockerEngine::push_image(const std::string& reference) const {
  cli_.run({"push", reference}, "push " + reference);
}

void DockerEngine::save_image(const std::string& reference, const std::string& archive,
                              const std::string& action) const {
  cli_.run({"save", "--output", archive, reference}, action);
}

// Docker separates networks itself and turns traffic between an isolated one's containers off.
std::map<std::string, std::string> DockerEngine::network_driver_options(const NetworkSpec& network) const {
  if (!network.isolated) return {};
  return {{"com.docker.network.bridge.enable_icc", "false"}};
}

std::vector<std::string> DockerEngine::create_network_command(const NetworkSpec& network) const {
  std::vector<std::string> command{std::string(name()), "network", "create", "--driver", "bridge"};
  for (const auto& [key, value] : network_driver_options(network))
    command.insert(command.end(), {"--opt", key + "=" + value});
  for (const auto& [key, value] : network.labels)
    command.insert(command.end(), {"--label", key + "=" + value});
  command.push_back(network.name);
  return command;
}

std::vector<std::string> DockerEngine::network_exists_command(const std::string& network) const {
  return {std::string(name()), "network", "inspect", "--format", "{{.Name}}", network};
}

bool DockerEngine::compose_available() const {
  try {
    return cli_.try_run({"compose", "version"}).exit_code == 0;
  } catch (const Error&) { // no answer in time: asked after the export is written, which stands
    return false;
  }
}

process::ProcessResult DockerEngine::create_network(const NetworkSpec& network) const {
  return cli_.try_run(without_cli(create_network_command(network)));
}

bool DockerEngine::network_exists(const std::string& network) const {
  return cli_.try_run(without_cli(network_exists_command(network))).exit_code == 0;
}

bool DockerEngine::remove_network(const std::string& network) const {
  return cli_.try_run({"network", "rm", network}).exit_code == 0;
}

std::vector<std::string> DockerEngine::networks_labelled(const std::string& label) const {
  std::string names =
      cli_.run({"network", "ls", "--filter", "label=" + label, "--format", "{{.Name}}"}, "list networks").out;
  std::vector<std::string> networks;
  for (auto& name : split(names, '\n'))
    if (!name.empty()) networks.push_back(std::move(name));
  return networks;
}

std::optional<std::string> DockerEngine::network_label(const std::string& network, const std::string& label) const {
  process::ProcessResult result =
      cli_.try_run({"network", "inspect", "--format", "{{index .Labels \"" + label + "\"}}", network});
  if (result.exit_code != 0) return std::nullopt;
  std::string value = result.out;
  if (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

std::vector<std::string> DockerEngine::query_command(const std::vector<std::string>& query) const {
  std::vector<std::string> command{cli_.binary()};
  command.insert(command.end(), query.begin(), query.end());
  return command;
}

process::ProcessResult DockerEngine::ask(const std::vector<std::string>& query, process::ProcessOptions options) const {
  return cli_.spawn(query, std::move(options));
}

std::vector<std::string> DockerEngine::version_query() const { return {"version", "--format", "{{json .}}"}; }

std::vector<std::string> DockerEngine::info_query() const { return {"info", "--format", "{{json .}}"}; }

std::vector<std::string> DockerEngine::image_labels_query(const std::string& image) const {
  return {"image", "inspect", "--format", "{{json .Config.Labels}}", image};
}

std::vector<std::string> DockerEngine::container_inspect_query(const std::string& container) const {
  return {"container", "inspect", "--format", "{{json .}}", container};
}

std::vector<std::string> DockerEngine::exec_query(const std::string& container,
                                                  const std::vector<std::string>& command) const {
  return exec_args(container, ExecAs{}, command);
}

std::vector<std::string> DockerEngine::read_image_file_query(const std::string& image, const std::string& path) const {
  return cat_args(image, path, Isolation::sealed);
}

std::optional<bool> DockerEngine::any_running_labelled(const std::string& label_filter) const {
  // `ps` without -a lists running, paused and restarting containers.
  process::ProcessResult result = cli_.try_run({"ps", "-q", "--filter", "label=" + label_filter});
  if (result.exit_code != 0) return std::nullopt;
  return !result.out.empty();
}

} // namespace launcher::engine
