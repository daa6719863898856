#include "docker/docker.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::docker {

using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The engine's own words for a message: the last lines of its stderr, without the CLI's prefixes
// and its "See 'docker run --help'." hints.
std::string first_line(const std::string& text) {
  std::string cleaned;
  for (std::string line : split(text, '\n')) {
    for (const char* prefix : {"docker: Error response from daemon: ", "Error response from daemon: ", "Error: "})
      if (starts_with(line, prefix)) line = line.substr(std::string(prefix).size());
    if (starts_with(line, "See '") && line.find("--help'") != std::string::npos) continue;
    cleaned += line + "\n";
  }
  std::string tail = stderr_tail(cleaned);
  return tail.empty() ? "(no message from docker)" : tail;
}

bool has(const std::vector<std::string>& args, std::initializer_list<const char*> flags) {
  for (const auto& arg : args)
    for (const char* flag : flags)
      if (arg == flag) return true;
  return false;
}

// --time N / --time=N / -t N of `docker stop`; 10 (Docker's default) when absent or unreadable.
std::int64_t stop_seconds(const std::vector<std::string>& args) {
  std::string value = "10";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--time" || args[i] == "-t" || args[i] == "--timeout") && i + 1 < args.size())
      value = args[i + 1];
    else if (starts_with(args[i], "--time=") || starts_with(args[i], "--timeout="))
      value = args[i].substr(args[i].find('=') + 1);
  }
  std::int64_t seconds = 10;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc() || end != value.data() + value.size() || seconds < 0) return 10;
  return seconds;
}

// The limit of a query (call_limit's table).
constexpr std::chrono::seconds query_seconds{30};

} // namespace

Failure classify_failure(const std::string& stderr_text) {
  const std::string& e = stderr_text;
  if (contains(e, "permission denied while trying to connect to the Docker daemon")) return Failure::permission_denied;
  if (contains(e, "Cannot connect to the Docker daemon") || contains(e, "Is the docker daemon running"))
    return Failure::daemon_down;
  if (contains(e, "could not select device driver")) return Failure::missing_gpu_runtime;
  if (contains(e, "port is already allocated") || contains(e, "address already in use")) return Failure::port_in_use;
  if (contains(e, "No such image") || contains(e, "Unable to find image") || contains(e, "pull access denied"))
    return Failure::image_missing;
  // Engine 20.10's words, then 28's.
  if (contains(e, "non-overlapping IPv4 address pool") || contains(e, "all predefined address pools have been fully"))
    return Failure::out_of_address_pools;
  if (contains(e, "container state improper")) return Failure::not_running;
  if (contains(e, "no such container")) return Failure::no_such_container;
  return Failure::other;
}

bool is_missing_gpu_runtime(const std::string& stderr_text) {
  return classify_failure(stderr_text) == Failure::missing_gpu_runtime;
}

bool is_out_of_address_pools(const std::string& stderr_text) {
  return classify_failure(stderr_text) == Failure::out_of_address_pools;
}

std::optional<std::chrono::seconds> query_limit(std::optional<std::chrono::seconds> setting) {
  if (setting && setting->count() == 0) return std::nullopt;
  return setting.value_or(query_seconds);
}

CallLimit call_limit(const std::vector<std::string>& args, std::optional<std::chrono::seconds> setting) {
  using std::chrono::seconds;
  constexpr seconds change{60}, stop_margin{30}, own_command{300};
  std::string first = args.empty() ? "" : args[0];
  std::string second = args.size() > 1 ? args[1] : "";
  // `docker container X`, `docker image X`, `docker network X`: the object's verb decides.
  std::string verb = first == "container" || first == "image" ? second : first;
  CallKind kind = CallKind::change;
  if (first == "network")
    kind = second == "ls" || second == "inspect" ? CallKind::query : CallKind::change;
  else if (first == "buildx")
    kind = second == "version" || second == "ls" || second == "inspect" ? CallKind::query : CallKind::long_running;
  else if (verb == "version" || verb == "info" || verb == "ps" || verb == "ls" || verb == "images" ||
           verb == "inspect" || verb == "top" || verb == "port")
    kind = CallKind::query;
  else if (verb == "diff") // a walk of the container's files: 22-58 s on rootless Podman through fuse-overlayfs
    kind = CallKind::own_command;
  else if (verb == "logs")
    kind = has(args, {"-f", "--follow"}) ? CallKind::long_running : CallKind::query;
  else if (verb == "stop")
    kind = CallKind::stop;
  else if (verb == "exec")
    kind = CallKind::own_command;
  else if (verb == "run")
    kind = has(args, {"-d", "--detach"}) ? CallKind::change : CallKind::own_command;
  else if (verb == "build" || verb == "commit" || verb == "pull" || verb == "push" || verb == "save" ||
           verb == "load" || verb == "import" || verb == "export" || verb == "attach" || verb == "wait")
    kind = CallKind::long_running;
  if (setting && setting->count() == 0) return {kind, std::nullopt};
  switch (kind) {
  case CallKind::query:
    return {kind, query_limit(setting)};
  case CallKind::change:
    return {kind, setting.value_or(change)};
  case CallKind::stop:
    return {kind, seconds(stop_seconds(args)) + setting.value_or(stop_margin)};
  case CallKind::own_command:
    return {kind, setting.value_or(own_command)};
  case CallKind::long_running:
    return {kind, setting};
  }
  return {kind, setting.value_or(change)};
}

std::optional<std::chrono::seconds> parse_timeout_setting(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t seconds = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0 || seconds > 86400)
    throw Error(ExitCode::usage, std::string(timeout_variable) +
                                     ": expected a whole number of seconds 0-86400 (0: no limit), found " +
                                     quote_for_message(text));
  return std::chrono::seconds(seconds);
}

std::string stderr_tail(std::string_view text) {
  constexpr std::size_t max_lines = 5, max_bytes = 2048;
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) lines.push_back(line);
    start = end + 1;
  }
  std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string joined;
  for (std::size_t i = first; i < lines.size(); ++i)
    joined += (joined.empty() ? "" : " | ") + escape_control_characters(lines[i]);
  bool cut_bytes = false;
  if (joined.size() > max_bytes) {
    // Keep the end, where the CLI puts the engine's answer; start on a whole character.
    std::size_t from = joined.size() - max_bytes;
    while (from < joined.size() && (static_cast<unsigned char>(joined[from]) & 0xC0) == 0x80)
      ++from;
    joined = "…" + joined.substr(from);
    cut_bytes = true;
  }
  if (first > 0)
    joined = "(… " + std::to_string(first) + " earlier line" + (first == 1 ? "" : "s") + ") " + joined;
  else if (cut_bytes)
    joined = "(cut to its last " + std::to_string(max_bytes) + " bytes) " + joined;
  return joined;
}

std::string failure_cause(const process::ProcessResult& result) {
  std::string tail = stderr_tail(result.err);
  return tail.empty() ? "(no message from docker, exit " + std::to_string(result.exit_code) + ")" : tail;
}

std::string explain_failure(const std::string& action, const process::ProcessResult& result) {
  if (stderr_tail(result.err).empty())
    return "failed to " + action + ": (no message from docker, exit " + std::to_string(result.exit_code) + ")";
  return explain_failure(action, result.err);
}

std::string explain_failure(const std::string& action, const std::string& stderr_text) {
  const std::string failed = "failed to " + action + ": ";
  switch (classify_failure(stderr_text)) {
  case Failure::permission_denied:
    return failed + "permission denied on the Docker socket; add yourself to the docker group "
                    "(sudo usermod -aG docker $USER, then log in again) or run as root";
  case Failure::daemon_down:
    return failed + "the Docker daemon is not running; start it (sudo systemctl start docker, or "
                    "sudo dockerd on a host without systemd)";
  case Failure::missing_gpu_runtime:
    return failed + "Docker cannot give GPUs to containers: the NVIDIA Container Toolkit is missing "
                    "or not configured (install nvidia-container-toolkit, run `sudo nvidia-ctk runtime configure "
                    "--runtime=docker`, restart Docker), or run without GPUs (--gpus none)";
  case Failure::port_in_use:
    return failed + "a host port is already in use (" + first_line(stderr_text) +
           "); free it, or publish on \"auto\" (-p auto:PORT)";
  case Failure::image_missing:
    return failed + "the image is not on this host (" + first_line(stderr_text) + ")";
  case Failure::out_of_address_pools:
    return failed + "Docker has no address range left for another network (every range of its "
                    "default-address-pools is taken); remove networks nothing uses, or give dockerd more ranges "
                    "(default-address-pools in /etc/docker/daemon.json, then restart it)";
  case Failure::not_running:
    return failed + "the container is not running (" + first_line(stderr_text) + "); start it with `launcher up ENV`";
  case Failure::no_such_container:
    return failed + "there is no such container (" + first_line(stderr_text) + "); `launcher ps` lists them";
  case Failure::other:
    break;
  }
  return failed + first_line(stderr_text);
}

process::ProcessResult spawn_cli(const std::vector<std::string>& argv, const process::ProcessOptions& options) {
  return process::run_process(argv, options);
}

process::ProcessResult Docker::spawn(const std::vector<std::string>& args, process::ProcessOptions options) const {
  std::vector<std::string> argv{binary_};
  argv.insert(argv.end(), args.begin(), args.end());
  if (CallLimit limit = call_limit(args, timeout_); limit.timeout)
    options.timeout = options.timeout ? std::min<std::chrono::milliseconds>(*options.timeout, *limit.timeout)
                                      : std::chrono::milliseconds(*limit.timeout);
  return runner_(argv, options);
}

process::ProcessResult Docker::try_run(const std::vector<std::string>& args, process::ProcessOptions options) const {
  try {
    return spawn(args, std::move(options));
  } catch (const process::SpawnFailed& error) {
    if (error.error_number() == ENOENT && error.what() == "failed to run " + binary_ + ": not found on PATH")
      throw Error(ExitCode::failed, "the Docker CLI (" + escape_control_characters(binary_) +
                                        ") is not on PATH: install docker.io (Debian, "
                                        "Ubuntu) or Docker Engine, or name it with --docker");
    throw Error(ExitCode::failed,
                escape_control_characters(error.what()) + " (the Docker CLI; --docker names another)");
  } catch (const process::TimedOut& error) {
    std::vector<std::string> shown{binary_.substr(binary_.rfind('/') + 1)};
    shown.insert(shown.end(), args.begin(), args.end());
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(error.limit()).count();
    throw Error(ExitCode::failed, "`" + escape_control_characters(process::command_line_for_message(shown)) +
                                      "` timed out after " + std::to_string(seconds) +
                                      " s (the engine does not answer); raise the limit with " + timeout_variable +
                                      "=SECONDS (0: none)");
  }
}

process::ProcessResult Docker::run(const std::vector<std::string>& args, const std::string& action) const {
  process::ProcessResult result = try_run(args);
  if (result.exit_code != 0)
    throw Error(is_missing_gpu_runtime(result.err) ? ExitCode::host_incapable : ExitCode::failed,
                explain_failure(action, result));
  return result;
}

namespace {

constexpr const char* listing_fields = R"({"id":{{json .ID}},"name":{{json .Names}},"image":{{json .Image}},)"
                                       R"("state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}},)";

} // namespace

std::string listing_format(const std::vector<std::string>& labels) {
  std::string format = std::string(listing_fields) + R"("labels":{)";
  for (size_t i = 0; i < labels.size(); ++i)
    format += (i ? "," : "") + json(labels[i]).dump() + ":{{json (.Label " + json(labels[i]).dump() + ")}}";
  return format + "}}";
}

std::string listing_format_all_labels() { return std::string(listing_fields) + R"("labels":{{json .Labels}}})"; }

json parse_inspect_output(std::string_view out, const std::string& command) {
  json parsed = JsonReader::parse(out, command);
  std::vector<JsonReader> objects = JsonReader(parsed, command).elements();
  if (objects.size() != 1 || !objects.front().is_object()) JsonReader(parsed, command).fail("an array of one object");
  return objects.front().json();
}

// Docker's "No such container: x" and "No such object", rootless Podman 4.3's "no such container x"
// and, for an image, "x: image not known".
bool names_missing_object(const std::string& stderr_text, const std::string& kind) {
  std::string lowered = stderr_text;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return contains(lowered, "no such " + kind) || contains(lowered, "no such object") ||
         (kind == "image" && contains(lowered, "image not known"));
}

std::vector<json> parse_inspect_list(std::string_view out) {
  const std::string command = "docker container inspect";
  json parsed = JsonReader::parse(out, command);
  std::vector<json> containers;
  for (const auto& container : JsonReader(parsed, command).elements()) {
    if (!container.is_object()) container.fail("an object");
    containers.push_back(container.json());
  }
  return containers;
}

std::optional<GpuDeviceRequest> gpu_device_request(const JsonReader& host_config) {
  auto requests = host_config.find("DeviceRequests");
  std::vector<JsonReader> list = requests ? requests->elements() : std::vector<JsonReader>{};
  auto device_ids = [](const JsonReader& request) {
    std::vector<std::string> ids;
    if (auto devices = request.find("DeviceIDs"))
      for (const auto& id : devices->elements())
        ids.push_back(id.string());
    return ids;
  };
  for (const auto& request : list) {
    if (request.string_or("Driver", "") != "cdi") continue;
    GpuDeviceRequest gpus{{}, 0, host::GpuRuntime::cdi};
    for (const auto& name : device_ids(request))
      if (auto device = host::device_of_cdi_name(name)) {
        if (*device == "all")
          gpus.count = -1;
        else
          gpus.device_ids.push_back(*device);
      }
    if (gpus.all() || !gpus.device_ids.empty()) return gpus;
  }
  for (const auto& request : list)
    if (request.string_or("Driver", "") != "cdi")
      return GpuDeviceRequest{device_ids(request), request.integer_or("Count", 0), host::GpuRuntime::nvidia};
  return std::nullopt;
}

std::vector<ListedContainer> parse_listing(std::string_view out, const std::vector<std::string>& labels) {
  std::vector<ListedContainer> containers;
  for (const auto& line : split(out, '\n')) {
    if (line.empty()) continue;
    json parsed = JsonReader::parse(line, "docker ps");
    JsonReader reader(parsed, "docker ps");
    ListedContainer listed{reader.at("name").string(),   reader.at("image").string(), reader.at("state").string(),
                           reader.at("status").string(), reader.at("ports").string(), {}};
    JsonReader listed_labels = reader.at("labels");
    for (const auto& name : labels)
      listed.labels[name] = listed_labels.string_or(name, "");
    containers.push_back(std::move(listed));
  }
  return containers;
}

} // namespace launcher::docker
