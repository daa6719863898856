#include "lifecycle/inspect.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "launcher_contract/contract.hpp"
#include "launcher_contract/stop_reason.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

// Every field is read through JsonReader: a missing or malformed one names the command and field.
JsonReader inspected(const json& container) { return JsonReader(container, "docker container inspect"); }

std::string label(const json& container, const char* name) {
  auto labels = inspected(container).at("Config").find("Labels");
  return labels ? labels->string_or(name, "") : "";
}

// A port number as Docker prints it ("8888"), or an Error naming where it was read.
int port_number(const JsonReader& where, const std::string& text) {
  int port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535)
    where.fail("a port number 0-65535 in " + quote_for_message(text));
  return port;
}

// The protocol of a port key as Docker prints it ("8888/tcp"; a bare number is tcp); nullopt for
// one the launcher never publishes (sctp): such a port is no endpoint of it.
std::optional<plan::Protocol> protocol_of(const std::string& key) {
  std::size_t slash = key.find('/');
  if (slash == std::string::npos) return plan::Protocol::tcp;
  return plan::protocol_named(std::string_view(key).substr(slash + 1));
}

} // namespace

std::string env_of(const json& container) { return label(container, contract::label::env); }
std::string profile_of(const json& container) { return label(container, contract::label::profile); }
std::string plan_hash_of(const json& container) { return label(container, contract::label::plan_hash); }
std::string project_dir_of(const json& container) { return label(container, contract::label::project_dir); }

std::string name_of(const json& container) {
  std::string name = inspected(container).at("Name").string();
  return starts_with(name, "/") ? name.substr(1) : name;
}

bool is_running(const json& container) { return inspected(container).at("State").at("Running").boolean(); }

std::string id_of(const json& container) { return inspected(container).at("Id").string(); }

std::string started_at_of(const json& container) { return inspected(container).at("State").string_or("StartedAt", ""); }

std::string state_of(const json& container) { return inspected(container).at("State").at("Status").string(); }

std::string gpus_label_of(const json& container) { return label(container, contract::label::gpus); }

std::string status_of(const json& container) {
  JsonReader state = inspected(container).at("State");
  std::string status = state.at("Status").string();
  if (status == "exited") return "exited (" + std::to_string(state.at("ExitCode").integer()) + ")";
  if (auto health = state.find("Health"); health && health->is_object())
    status += " (" + health->at("Status").string() + ")";
  return status;
}

std::optional<std::string> out_of_memory(const json& container) {
  JsonReader inspect = inspected(container);
  if (!inspect.at("State").boolean_or("OOMKilled", false)) return std::nullopt;
  std::int64_t limit = inspect.find("HostConfig") ? inspect.at("HostConfig").integer_or("Memory", 0) : 0;
  return "out of memory: the kernel killed a process in it" +
         (limit > 0 ? " (limit " + format_docker_size(static_cast<std::uint64_t>(limit)) + ")" : std::string());
}

namespace {

std::optional<long long> number_in(const std::string& text) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

} // namespace

std::optional<StopReason> stop_reason(const json& container) {
  JsonReader state = inspected(container).at("State");
  if (state.at("Running").boolean()) return std::nullopt;
  std::int64_t exit_code = state.integer_or("ExitCode", 0);
  auto setting = [&](const char* name) { return number_in(env_variable(container, name)); };
  if (exit_code == contract::stop_status::idle) {
    auto stop_after = setting(contract::env::idle_stop_after);
    auto below = setting(contract::env::idle_gpu_util_below);
    std::string services = env_variable(container, contract::env::service);
    std::string gpus = label(container, contract::label::gpus);
    if (stop_after && below)
      return StopReason{
          StopReason::Kind::stopped_itself,
          contract::describe_idle_stop({std::chrono::seconds(*stop_after), static_cast<int>(*below),
                                        services.find(plan::name(plan::Service::jupyter)) != std::string::npos,
                                        services.find(plan::name(plan::Service::ssh)) != std::string::npos,
                                        gpus.empty() ? "none" : gpus})};
  }
  if (exit_code == contract::stop_status::max_age)
    if (auto max_age = setting(contract::env::max_age))
      return StopReason{StopReason::Kind::stopped_itself,
                        contract::describe_max_age_stop(std::chrono::seconds(*max_age))};
  if (state.boolean_or("OOMKilled", false)) return StopReason{StopReason::Kind::out_of_memory, "out of memory"};
  return StopReason{StopReason::Kind::exited, "exited " + std::to_string(exit_code)};
}

std::vector<Endpoint> endpoints_of(const json& container) {
  std::vector<Endpoint> endpoints;
  auto settings = inspected(container).find("NetworkSettings");
  auto ports = settings ? settings->find("Ports") : std::nullopt;
  if (!ports) return endpoints;
  for (const auto& [key, bindings] : ports->members()) {
    // An exposed port that is not published has null bindings.
    if (bindings.json().is_null()) continue;
    std::optional<plan::Protocol> protocol = protocol_of(key);
    if (!protocol) continue;
    int container_port = port_number(bindings, key.substr(0, key.find('/')));
    for (const auto& binding : bindings.elements())
      endpoints.push_back({container_port, *protocol, binding.string_or("HostIp", ""),
                           port_number(binding, binding.string_or("HostPort", "0"))});
  }
  // Docker lists an IPv4 and an IPv6 binding for "every address"; keep them in a stable order.
  std::sort(endpoints.begin(), endpoints.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.container_port, a.protocol, a.host_ip) < std::tie(b.container_port, b.protocol, b.host_ip);
  });
  return endpoints;
}

std::optional<Endpoint> endpoint_for(const json& container, int container_port) {
  for (const auto& endpoint : endpoints_of(container))
    if (endpoint.container_port == container_port && endpoint.protocol == plan::Protocol::tcp) return endpoint;
  return std::nullopt;
}

std::string reachable_host(const Endpoint& endpoint) {
  if (endpoint.host_ip.empty() || endpoint.host_ip == "0.0.0.0") return "127.0.0.1";
  if (endpoint.host_ip == "::") return "::1";
  return endpoint.host_ip;
}

std::string gpus_of(const json& container) {
  // up reports on an empty object when the container vanished before its inspect.
  auto host_config = inspected(container).find("HostConfig");
  auto gpus = host_config ? docker::gpu_device_request(*host_config) : std::nullopt;
  if (!gpus) return "-";
  if (gpus->all()) return "all";
  std::string ids;
  for (const auto& id : gpus->device_ids)
    ids += (ids.empty() ? "" : ",") + id;
  return ids.empty() ? std::to_string(gpus->count) : ids;
}

std::string env_variable(const json& container, const std::string& name) {
  auto env = inspected(container).at("Config").find("Env");
  if (!env) return "";
  for (const auto& entry : env->elements()) {
    std::string text = entry.string();
    if (starts_with(text, name + "=")) return text.substr(name.size() + 1);
  }
  return "";
}

std::vector<std::string> mount_targets_of(const json& container) {
  std::vector<std::string> targets;
  if (auto mounts = inspected(container).find("Mounts"))
    for (const auto& mount : mounts->elements())
      targets.push_back(mount.at("Destination").string());
  return targets;
}

namespace {

// A plan's byte sizes, shown in Docker's size syntax as a profile writes them ("2g", not 2147483648).
bool is_byte_size(const std::string& path) { return path == "shm_size" || path == "resources.memory"; }

std::string shown(const std::string& path, const json& value) {
  if (is_byte_size(path) && value.is_number_unsigned()) return format_docker_size(value.get<std::uint64_t>());
  return value.dump();
}

} // namespace

std::vector<std::string> plan_differences(const json& old_plan, const json& new_plan) {
  std::vector<std::string> differences;
  for (const auto& [key, value] : new_plan.items()) {
    json before = old_plan.is_object() && old_plan.contains(key) ? old_plan.at(key) : json();
    if (before == value) continue;
    // The resources by field, so that a changed limit shows as "resources.memory: 2g -> 3g".
    if (key == "resources" && before.is_object() && value.is_object()) {
      json fields = before;
      fields.update(value);
      for (const auto& item : fields.items()) {
        const std::string& field = item.key();
        json was = before.value(field, json()), now = value.value(field, json());
        if (was != now)
          differences.push_back(key + "." + field + ": " + shown(key + "." + field, was) + " -> " +
                                shown(key + "." + field, now));
      }
      continue;
    }
    differences.push_back(key + ": " + shown(key, before) + " -> " + shown(key, value));
  }
  return differences;
}

} // namespace launcher::lifecycle
