#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/docker.hpp"
#include "plan/plan.hpp"
#include "process/process.hpp"
#include "render/render.hpp"

namespace launcher::engine {

// The container engines the launcher drives. A profile never names one: the host does
// (engine/choice.hpp).
enum class EngineKind { docker, podman };
// "docker", "podman": the CLI's name, and how the launcher names the engine to a person.
std::string_view engine_name(EngineKind kind);

// A network the containers of environments join.
struct NetworkSpec {
  std::string name;
  std::map<std::string, std::string> labels;
  bool isolated = false; // traffic between its containers is off where the engine can turn it off
};

// Who runs a command in a container, and where: "" leaves the image's (or launcher-init's) choice.
struct ExecAs {
  std::string user;
  std::string workdir;
};

// A command a person runs in a container from their terminal.
struct AttachedExec {
  std::string user; // "UID:GID"; "" leaves the image's
  std::map<std::string, std::string> environment;
  std::string workdir;
  bool tty = false; // stdin and stdout are a terminal
  std::vector<std::string> command;
};

// How a rendered container begins: started at once in the background (`up`), or only created.
enum class Launch { detached, created };

// One build of a Dockerfile's stage, tagged.
struct ImageBuild {
  std::string dockerfile;
  std::string context; // the build context's directory
  std::string target;  // the stage
  std::string tag;
  std::map<std::string, std::string> args; // --build-arg NAME=VALUE, sorted by name
};

// Everything the launcher asks of a container engine, as operations. Each engine spells them in
// its own CLI, run through the one runner (docker::Docker: call limits, timeouts, interrupts,
// explain_failure). Failures that the operation cannot leave to the caller throw Error with
// `action` in the message.
class Engine {
public:
  virtual ~Engine() = default;

  virtual EngineKind kind() const = 0;
  std::string_view name() const { return engine_name(kind()); }

  // The command that creates the plan's container, with the engine's own options; `env_file` as
  // in render::render_container_command. Pure: `render` shows it, `up` runs it.
  virtual render::ContainerCommand container_command(Launch launch, const plan::Plan& plan,
                                                     const std::string& env_file) const = 0;
  // Runs a command container_command made (its program's first word, the CLI, is the runner's).
  virtual void run(const render::ContainerCommand& command, const std::string& action) const = 0;
  virtual void start(const std::string& container) const = 0;
  // SIGTERM, then SIGKILL after `grace`.
  virtual void stop(const std::string& container, std::chrono::seconds grace) const = 0;
  virtual void remove(const std::string& container) const = 0;
  // Removes it running or not; whether the engine did.
  virtual bool remove_forced(const std::string& container) const = 0;

  // The engine's inspect object; nullopt when there is no such container or image.
  virtual std::optional<nlohmann::json> inspect_container(const std::string& name) const = 0;
  virtual std::optional<nlohmann::json> inspect_image(const std::string& reference) const = 0;
  // Every container (running or not) carrying the label ("KEY" or "KEY=VALUE"), inspected.
  virtual std::vector<nlohmann::json> containers_labelled(const std::string& label_filter) const = 0;
  // The same containers from one listing (no inspect), with these labels' values; `state` is
  // Docker's word ("running", "exited", ...) whatever the engine prints.
  virtual std::vector<docker::ListedContainer> list_labelled(const std::string& label_filter,
                                                             const std::vector<std::string>& labels) const = 0;
  // The last `lines` of its output, control characters escaped; what the engine said when it has none.
  virtual std::string logs_tail(const std::string& container, int lines) const = 0;
  // The container's changes to its image's files, one "C /path" line each (`docker diff`'s form).
  virtual std::string changed_files(const std::string& container) const = 0;

  // Runs `command` in the running container, its output captured; the result as it is.
  virtual process::ProcessResult exec(const std::string& container, const ExecAs& as,
                                      const std::vector<std::string>& command) const = 0;
  // The same; a failure throws Error naming `action`.
  virtual process::ProcessResult exec_checked(const std::string& container, const ExecAs& as,
                                              const std::vector<std::string>& command,
                                              const std::string& action) const = 0;

  // Replace this process with the engine's CLI, attached to the terminal (its signals and exit
  // status are then the CLI's): a command in the container, or the container's output
  // (`follow`: until it stops). Return only by throwing.
  [[noreturn]] virtual void exec_attached(const std::string& container, const AttachedExec& exec) const = 0;
  [[noreturn]] virtual void show_logs(const std::string& container, bool follow) const = 0;

  // Commits the container, paused for the copy where the engine can pause it, as image `tag`, with
  // these Dockerfile instructions (--change) applied; what the image carries of the container's own
  // configuration is only what the changes leave. Nothing else stays on the host but the image and
  // its parent. Whether the container was paused.
  virtual bool commit(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
                      const std::string& action) const = 0;

  // Copies what is in the container's `directory` (not the directory itself) into `host_directory`.
  virtual void copy_out(const std::string& container, const std::string& directory, const std::string& host_directory,
                        const std::string& action) const = 0;

  // Images
  // Why this engine cannot build the launcher's Dockerfile as written (RUN --mount with no syntax
  // line; never Docker's legacy builder), with the fix; nothing when it can. Output that is not the
  // CLI's version object is an Error naming the command.
  virtual std::optional<std::string> builder_missing() const = 0;
  // The settings (NAME=value) build_image runs its command with, for --dry-run to print before it.
  virtual std::vector<std::string> build_environment() const = 0;
  // The command that builds `build` (the CLI first), for a person to read: `launcher build --dry-run`.
  virtual std::vector<std::string> build_command(const ImageBuild& build) const = 0;
  // Runs build_command; the result as it is (its output goes where `options` sends it).
  virtual process::ProcessResult build_image(const ImageBuild& build, process::ProcessOptions options) const = 0;
  // What `file` in the image holds, read by a container removed afterwards whose entrypoint is
  // `cat`; nullopt when that fails (no such file, or no image).
  virtual std::optional<std::string> read_image_file(const std::string& image, const std::string& file) const = 0;
  // The same; a failure throws Error naming `action`.
  virtual std::string read_image_file_checked(const std::string& image, const std::string& file,
                                              const std::string& action) const = 0;
  // Whether the engine removed the tag (the image with it, when nothing else names it).
  virtual bool remove_image(const std::string& image) const = 0;
  virtual void push_image(const std::string& reference) const = 0;
  // Writes the image (its layers and config, as `docker load` reads them) to the file `archive`.
  virtual void save_image(const std::string& reference, const std::string& archive,
                          const std::string& action) const = 0;

  // The engine's answer; whether creating it failed is the caller's to judge (it may exist).
  virtual process::ProcessResult create_network(const NetworkSpec& network) const = 0;
  virtual bool network_exists(const std::string& network) const = 0;
  // Whether the engine removed it.
  virtual bool remove_network(const std::string& network) const = 0;
  // The names of the networks carrying the label.
  virtual std::vector<std::string> networks_labelled(const std::string& label) const = 0;
  // The network's value of the label ("" when it lacks it); nullopt when there is no such network.
  virtual std::optional<std::string> network_label(const std::string& network, const std::string& label) const = 0;

  // For the files `export` writes, which the engine's own tools run: the driver options that keep
  // the containers of an isolated network apart (Compose's driver_opts), and the commands, the CLI
  // first, that tell whether a network exists and make it (a devcontainer's initializeCommand).
  virtual std::map<std::string, std::string> network_driver_options(const NetworkSpec& network) const = 0;
  virtual std::vector<std::string> network_exists_command(const std::string& network) const = 0;
  virtual std::vector<std::string> create_network_command(const NetworkSpec& network) const = 0;
  // Whether `<engine> compose` answers here: a Compose provider that runs an exported file.
  virtual bool compose_available() const = 0;

  // Queries the host facts are made of
  // The *_query operations return the CLI's words (without the binary) for the runner, so that
  // facts::FactSource can record and replay the answer under the fact's own name.
  // Those words as a command line, the CLI first: what a replayed answer stands for.
  virtual std::vector<std::string> query_command(const std::vector<std::string>& query) const = 0;
  // Asks them through the runner, within its call limit (`options.timeout` may only shorten it); a
  // CLI that cannot start or outlives its limit throws process::SpawnFailed or process::TimedOut as
  // it is, for callers that record those as facts.
  virtual process::ProcessResult ask(const std::vector<std::string>& query, process::ProcessOptions options) const = 0;
  // The client's and the server's versions, as JSON.
  virtual std::vector<std::string> version_query() const = 0;
  // The engine's own facts (cgroups, storage, runtimes), as JSON.
  virtual std::vector<std::string> info_query() const = 0;
  // The image's labels as one JSON object (`null` when it has none).
  virtual std::vector<std::string> image_labels_query(const std::string& image) const = 0;
  // The container's inspect object, as JSON.
  virtual std::vector<std::string> container_inspect_query(const std::string& container) const = 0;
  // `command` run in the running container as its default user, its output captured.
  virtual std::vector<std::string> exec_query(const std::string& container,
                                              const std::vector<std::string>& command) const = 0;
  // The file at `path` printed by a container of the image that runs only `cat`, with no network,
  // and is removed; an image the engine lacks is not pulled.
  virtual std::vector<std::string> read_image_file_query(const std::string& image, const std::string& path) const = 0;
  // Whether a running, paused or restarting container carries the label ("KEY=VALUE"): does an
  // env still hold its GPUs (gpu/lock). nullopt when the engine did not answer.
  virtual std::optional<bool> any_running_labelled(const std::string& label_filter) const = 0;
};

} // namespace launcher::engine
