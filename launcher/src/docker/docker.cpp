#include "docker/docker.hpp"

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::docker {

using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  for (const char* prefix : {"docker: Error response from daemon: ", "Error response from daemon: ", "Error: "})
    if (starts_with(line, prefix)) line = line.substr(std::string(prefix).size());
  return line;
}

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
  if (contains(e, "non-overlapping IPv4 address pool")) return Failure::out_of_address_pools;
  return Failure::other;
}

bool is_missing_gpu_runtime(const std::string& stderr_text) {
  return classify_failure(stderr_text) == Failure::missing_gpu_runtime;
}

bool is_out_of_address_pools(const std::string& stderr_text) {
  return classify_failure(stderr_text) == Failure::out_of_address_pools;
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
  case Failure::other:
    break;
  }
  return failed + first_line(stderr_text);
}

process::ProcessResult spawn_cli(const std::vector<std::string>& argv) { return process::run_process(argv); }

process::ProcessResult Docker::try_run(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{binary_};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    return runner_(argv);
  } catch (const Error&) {
    throw Error(ExitCode::failed, "the Docker CLI (" + binary_ +
                                      ") is not on PATH: install docker.io (Debian, "
                                      "Ubuntu) or Docker Engine, or name it with --docker");
  }
}

process::ProcessResult Docker::run(const std::vector<std::string>& args, const std::string& action) const {
  process::ProcessResult result = try_run(args);
  if (result.exit_code != 0)
    throw Error(is_missing_gpu_runtime(result.err) ? ExitCode::host_incapable : ExitCode::failed,
                explain_failure(action, result.err));
  return result;
}

std::string listing_format(const std::vector<std::string>& labels) {
  std::string format = R"({"id":{{json .ID}},"name":{{json .Names}},"image":{{json .Image}},"state":{{json .State}},)"
                       R"("status":{{json .Status}},"ports":{{json .Ports}},"labels":{)";
  for (size_t i = 0; i < labels.size(); ++i)
    format += (i ? "," : "") + json(labels[i]).dump() + ":{{json (.Label " + json(labels[i]).dump() + ")}}";
  return format + "}}";
}

json parse_inspect_output(std::string_view out, const std::string& command) {
  json parsed = JsonReader::parse(out, command);
  std::vector<JsonReader> objects = JsonReader(parsed, command).elements();
  if (objects.size() != 1 || !objects.front().is_object()) JsonReader(parsed, command).fail("an array of one object");
  return objects.front().json();
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
  if (list.empty()) return std::nullopt;
  const JsonReader& request = list.front();
  GpuDeviceRequest gpus{{}, request.integer_or("Count", 0)};
  if (auto devices = request.find("DeviceIDs"))
    for (const auto& id : devices->elements())
      gpus.device_ids.push_back(id.string());
  return gpus;
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

std::optional<json> Docker::inspect(const std::string& kind, const std::string& name) const {
  process::ProcessResult result = try_run({kind, "inspect", name});
  if (result.exit_code != 0) {
    if (contains(result.err, "No such " + kind) || contains(result.err, "No such object")) return std::nullopt;
    throw Error(ExitCode::failed, explain_failure("inspect " + kind + " " + name, result.err));
  }
  return parse_inspect_output(result.out, "docker " + kind + " inspect");
}

std::optional<json> Docker::inspect_container(const std::string& name) const { return inspect("container", name); }

std::optional<json> Docker::inspect_image(const std::string& reference) const { return inspect("image", reference); }

std::vector<json> Docker::containers_labelled(const std::string& label_filter) const {
  std::string ids = run({"ps", "-a", "-q", "--no-trunc", "--filter", "label=" + label_filter}, "list containers").out;
  std::vector<std::string> args{"container", "inspect"};
  for (const auto& id : split(ids, '\n'))
    if (!id.empty()) args.push_back(id);
  if (args.size() == 2) return {};
  // One inspect for all of them: `ps` stays fast with many environments.
  return parse_inspect_list(run(args, "inspect containers").out);
}

std::vector<ListedContainer> Docker::list_labelled(const std::string& label_filter,
                                                   const std::vector<std::string>& labels) const {
  std::string lines =
      run({"ps", "-a", "--no-trunc", "--filter", "label=" + label_filter, "--format", listing_format(labels)},
          "list containers")
          .out;
  return parse_listing(lines, labels);
}

std::string Docker::logs_tail(const std::string& name, int lines) const {
  process::ProcessResult result = try_run({"logs", "--tail", std::to_string(lines), name});
  return result.out + result.err;
}

} // namespace launcher::docker
