#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_reader.hpp"
#include "host/gpu_runtime.hpp"
#include "process/process.hpp"

namespace launcher::docker {

// The Docker CLI's failure output turned into one line that names the cause and the fix.
// Pure: tests feed it the engine's real messages. `action` says what was attempted.
std::string explain_failure(const std::string& action, const std::string& stderr_text);
// The same for a finished call: its exit status is named when it printed nothing.
std::string explain_failure(const std::string& action, const process::ProcessResult& result);

// What a Docker CLI failure means, from the CLI's and the engine's own messages.
enum class Failure {
  permission_denied,    // the socket is the docker group's
  daemon_down,          // no engine answers
  missing_gpu_runtime,  // "could not select device driver": no NVIDIA Container Toolkit (exit 3, not 1)
  port_in_use,          // a published host port is taken
  image_missing,        // not on this host, and not pulled
  out_of_address_pools, // every range of Docker's default address pools holds a network
  not_running,          // Podman's "container state improper": exec or stop of a stopped container
  no_such_container,    // Podman's lower-case "no such container" (Docker's words are passed through)
  other,
};
Failure classify_failure(const std::string& stderr_text);

bool is_missing_gpu_runtime(const std::string& stderr_text);
bool is_out_of_address_pools(const std::string& stderr_text);

// A `docker ps --format` template that makes the CLI print one JSON object per container, each
// value encoded by the CLI's own `json` function: id, name, image, state ("running"...), status
// (Docker's "Up 3 hours (healthy)"), ports ("127.0.0.1:8888->8888/tcp") and the given labels.
std::string listing_format(const std::vector<std::string>& labels);
// The same fields with every label as one object, for a CLI without Docker's `.Label` function
// (Podman's); parse_listing reads both.
std::string listing_format_all_labels();

// One container as listing_format prints it.
struct ListedContainer {
  std::string name;
  std::string image;
  std::string state;
  std::string status;
  std::string ports;
  std::map<std::string, std::string> labels; // every label asked for; "" when the container lacks it
};

// Readers of the CLI's output. Pure; a missing or malformed field is an Error naming the command
// and the field (core/json_reader.hpp).
// `docker <kind> inspect NAME`: an array of exactly one object, that object.
nlohmann::json parse_inspect_output(std::string_view out, const std::string& command);
// Whether a failed `docker <kind> inspect` (kind "container" or "image") says there is no such object.
bool names_missing_object(const std::string& stderr_text, const std::string& kind);
// `docker container inspect ID...`: an array of objects.
std::vector<nlohmann::json> parse_inspect_list(std::string_view out);
// The GPUs a container's HostConfig asks Docker for: every GPU (Count -1), these device IDs, or a
// count of them; nullopt when it asks for none. `--gpus` is the first DeviceRequests entry not of
// the "cdi" driver; `--device nvidia.com/gpu=…` shows (Docker 25 and later) as an entry of Driver
// "cdi" with the qualified names as DeviceIDs, read back as the plan names them ("0", "all").
struct GpuDeviceRequest {
  std::vector<std::string> device_ids;
  std::int64_t count = 0; // -1: every GPU
  host::GpuRuntime runtime = host::GpuRuntime::nvidia;

  bool all() const { return count == -1; }
};
std::optional<GpuDeviceRequest> gpu_device_request(const JsonReader& host_config);
// `docker ps --format <listing_format(labels)>`: one object a line.
std::vector<ListedContainer> parse_listing(std::string_view out, const std::vector<std::string>& labels);

// How long each kind of engine call may take: the one table, in call_limit. It is the runner's
// policy, so it reads the verbs of the argv it is given; what argv each operation takes is
// engine::Engine's.
//   query        version, info, ps, images, inspect, network ls/inspect, diff, logs   30 s
//   change       run -d, create, start, rm, kill, network create/rm, tag, image rm    60 s
//   stop         stop --time N                                                        N + 30 s
//   own command  exec, attached run (the launcher's own listings and probes)         300 s
//   long         build, buildx build, commit, pull, push, save, load, logs -f         none
// LAUNCHER_DOCKER_TIMEOUT=SECONDS replaces every limit but the stop's margin keeps its own --time
// on top; 0 lifts every limit.
enum class CallKind { query, change, stop, own_command, long_running };
struct CallLimit {
  CallKind kind = CallKind::query;
  std::optional<std::chrono::seconds> timeout; // nullopt: none
};
inline constexpr const char* timeout_variable = "LAUNCHER_DOCKER_TIMEOUT";
// `args` without the binary; `setting`: LAUNCHER_DOCKER_TIMEOUT's value, when set.
CallLimit call_limit(const std::vector<std::string>& args, std::optional<std::chrono::seconds> setting = std::nullopt);
// The query row's limit alone, for the host's own fact commands (nvidia-smi, ...): nullopt for none.
std::optional<std::chrono::seconds> query_limit(std::optional<std::chrono::seconds> setting);
// LAUNCHER_DOCKER_TIMEOUT's value: a whole number of seconds, 0-86400; nullopt for "" (unset).
// Anything else is a usage Error naming the variable and the value.
std::optional<std::chrono::seconds> parse_timeout_setting(std::string_view text);

// The engine's stderr fit for a one-line message: its last lines (at most 5 and 2 KB), joined
// with " | ", control characters escaped, "(… N earlier lines)" in front when some were cut.
// "" when it said nothing.
std::string stderr_tail(std::string_view stderr_text);
// What a failed call said, for "failed to X: <cause>": stderr_tail, or "(no message from
// docker, exit N)" when it printed nothing.
std::string failure_cause(const process::ProcessResult& result);

// How a Docker CLI command line (the binary first) is run: spawned for real, or answered by a
// recording fake in the unit tests of the commands. options.timeout carries call_limit's.
using CliRunner =
    std::function<process::ProcessResult(const std::vector<std::string>& argv, const process::ProcessOptions& options)>;

// Spawns the command without a shell (process::run_process).
process::ProcessResult spawn_cli(const std::vector<std::string>& argv, const process::ProcessOptions& options);

// The Docker CLI, the one way the launcher reaches the engine; JSON read from its own --format output.
// Every call is bounded by call_limit: past it, the CLI is ended and an Error names the call and
// LAUNCHER_DOCKER_TIMEOUT. A signal under process::InterruptScope ends it with process::Interrupted.
class Docker {
public:
  // `timeout_setting`: LAUNCHER_DOCKER_TIMEOUT's text ("" when unset); a bad one throws.
  explicit Docker(std::string binary, CliRunner runner = spawn_cli, std::string_view timeout_setting = "")
      : binary_(std::move(binary)), runner_(std::move(runner)), timeout_(parse_timeout_setting(timeout_setting)) {}

  const std::string& binary() const { return binary_; }

  // Runs `docker ARGS`; a failure throws Error with explain_failure's line.
  process::ProcessResult run(const std::vector<std::string>& args, const std::string& action) const;
  // Runs `docker ARGS` and returns whatever happened. `options` carries what the caller adds (input,
  // shown output, environment); options.timeout, when set, may only shorten call_limit's.
  process::ProcessResult try_run(const std::vector<std::string>& args, process::ProcessOptions options = {}) const;
  // The same, but a CLI that cannot start or runs past its limit throws process::SpawnFailed or
  // process::TimedOut as it is, for callers that report those as facts (facts::LiveFactSource).
  process::ProcessResult spawn(const std::vector<std::string>& args, process::ProcessOptions options = {}) const;

private:
  std::string binary_;
  CliRunner runner_;
  std::optional<std::chrono::seconds> timeout_;
};

} // namespace launcher::docker
