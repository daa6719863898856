#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_reader.hpp"
#include "process/process.hpp"

namespace launcher::docker {

// The Docker CLI's failure output turned into one line that names the cause and the fix.
// Pure: tests feed it the engine's real messages. `action` says what was attempted.
std::string explain_failure(const std::string& action, const std::string& stderr_text);

// What a Docker CLI failure means, from the CLI's and the engine's own messages.
enum class Failure {
  permission_denied,    // the socket is the docker group's
  daemon_down,          // no engine answers
  missing_gpu_runtime,  // "could not select device driver": no NVIDIA Container Toolkit (exit 3, not 1)
  port_in_use,          // a published host port is taken
  image_missing,        // not on this host, and not pulled
  out_of_address_pools, // every range of Docker's default address pools holds a network
  other,
};
Failure classify_failure(const std::string& stderr_text);

bool is_missing_gpu_runtime(const std::string& stderr_text);
bool is_out_of_address_pools(const std::string& stderr_text);

// A `docker ps --format` template that makes the CLI print one JSON object per container, each
// value encoded by the CLI's own `json` function: id, name, image, state ("running"...), status
// (Docker's "Up 3 hours (healthy)"), ports ("127.0.0.1:8888->8888/tcp") and the given labels.
std::string listing_format(const std::vector<std::string>& labels);

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
// `docker container inspect ID...`: an array of objects.
std::vector<nlohmann::json> parse_inspect_list(std::string_view out);
// The GPUs a container's HostConfig asks Docker for (its first DeviceRequests entry): every GPU
// (Count -1), these device IDs, or a count of them; nullopt when it asks for none.
struct GpuDeviceRequest {
  std::vector<std::string> device_ids;
  std::int64_t count = 0; // -1: every GPU

  bool all() const { return count == -1; }
};
std::optional<GpuDeviceRequest> gpu_device_request(const JsonReader& host_config);
// `docker ps --format <listing_format(labels)>`: one object a line.
std::vector<ListedContainer> parse_listing(std::string_view out, const std::vector<std::string>& labels);

// How a Docker CLI command line (the binary first) is run: spawned for real, or answered by a
// recording fake in the unit tests of the commands.
using CliRunner = std::function<process::ProcessResult(const std::vector<std::string>& argv)>;

// Spawns the command without a shell (process::run_process).
process::ProcessResult spawn_cli(const std::vector<std::string>& argv);

// The Docker CLI, the one way the launcher reaches the engine; JSON read from its own --format output.
class Docker {
public:
  explicit Docker(std::string binary, CliRunner runner = spawn_cli)
      : binary_(std::move(binary)), runner_(std::move(runner)) {}

  const std::string& binary() const { return binary_; }

  // Runs `docker ARGS`; a failure throws Error with explain_failure's line.
  process::ProcessResult run(const std::vector<std::string>& args, const std::string& action) const;
  // Runs `docker ARGS` and returns whatever happened.
  process::ProcessResult try_run(const std::vector<std::string>& args) const;

  std::optional<nlohmann::json> inspect_container(const std::string& name) const;
  std::optional<nlohmann::json> inspect_image(const std::string& reference) const;
  // Every container (running or not) carrying the label, as `docker inspect` shows it.
  std::vector<nlohmann::json> containers_labelled(const std::string& label_filter) const;
  // The same containers from one `docker ps` (no inspect): listing_format's objects.
  std::vector<ListedContainer> list_labelled(const std::string& label_filter,
                                             const std::vector<std::string>& labels) const;
  std::string logs_tail(const std::string& name, int lines) const;

private:
  // `docker <kind> inspect NAME`; nullopt when there is no such object.
  std::optional<nlohmann::json> inspect(const std::string& kind, const std::string& name) const;

  std::string binary_;
  CliRunner runner_;
};

} // namespace launcher::docker
