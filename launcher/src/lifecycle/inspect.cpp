#include "lifecycle/inspect.hpp"

#include <algorithm>

#include "core/text.hpp"
#include "render/render.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

std::string label(const json& container, const char* name) {
  const json& labels = container["Config"]["Labels"];
  return labels.is_object() && labels.contains(name) ? labels[name].get<std::string>() : "";
}

} // namespace

std::string env_of(const json& container) { return label(container, render::label_env); }
std::string profile_of(const json& container) { return label(container, render::label_profile); }
std::string plan_hash_of(const json& container) { return label(container, render::label_plan_hash); }

bool is_running(const json& container) { return container["State"].value("Running", false); }

std::string status_of(const json& container) {
  const json& state = container["State"];
  std::string status = state.value("Status", "unknown");
  if (status == "exited") return "exited (" + std::to_string(state.value("ExitCode", 0)) + ")";
  if (state.contains("Health") && state["Health"].is_object()) status += " (" + state["Health"].value("Status", "") + ")";
  return status;
}

std::vector<Endpoint> endpoints_of(const json& container) {
  std::vector<Endpoint> endpoints;
  const json& ports = container["NetworkSettings"]["Ports"];
  if (!ports.is_object()) return endpoints;
  for (const auto& [key, bindings] : ports.items()) {
    if (!bindings.is_array()) continue;
    std::vector<std::string> port_protocol = split(key, '/');
    for (const auto& binding : bindings)
      endpoints.push_back({std::stoi(port_protocol[0]), port_protocol.size() > 1 ? port_protocol[1] : "tcp",
                           binding.value("HostIp", ""), std::stoi(binding.value("HostPort", "0"))});
  }
  // Docker lists an IPv4 and an IPv6 binding for "every address"; keep them in a stable order.
  std::sort(endpoints.begin(), endpoints.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.container_port, a.protocol, a.host_ip) < std::tie(b.container_port, b.protocol, b.host_ip);
  });
  return endpoints;
}

std::optional<Endpoint> endpoint_for(const json& container, int container_port) {
  for (const auto& endpoint : endpoints_of(container))
    if (endpoint.container_port == container_port && endpoint.protocol == "tcp") return endpoint;
  return std::nullopt;
}

std::string reachable_host(const Endpoint& endpoint) {
  if (endpoint.host_ip.empty() || endpoint.host_ip == "0.0.0.0") return "127.0.0.1";
  if (endpoint.host_ip == "::") return "::1";
  return endpoint.host_ip;
}

std::string listed_label(const json& listed, const char* name) {
  auto labels = listed.find("labels");
  if (labels == listed.end() || !labels->is_object()) return "";
  auto value = labels->find(name);
  return value != labels->end() && value->is_string() ? value->get<std::string>() : "";
}

std::string gpus_of(const json& container) {
  const json& requests = container["HostConfig"]["DeviceRequests"];
  if (!requests.is_array() || requests.empty()) return "-";
  const json& request = requests[0];
  if (request.value("Count", 0) == -1) return "all";
  std::string ids;
  for (const auto& id : request.value("DeviceIDs", json::array())) ids += (ids.empty() ? "" : ",") + id.get<std::string>();
  return ids.empty() ? std::to_string(request.value("Count", 0)) : ids;
}

std::string env_variable(const json& container, const std::string& name) {
  for (const auto& entry : container["Config"].value("Env", json::array())) {
    std::string text = entry;
    if (starts_with(text, name + "=")) return text.substr(name.size() + 1);
  }
  return "";
}

std::vector<std::string> plan_differences(const json& old_plan, const json& new_plan) {
  std::vector<std::string> differences;
  for (const auto& [key, value] : new_plan.items()) {
    json before = old_plan.contains(key) ? old_plan[key] : json();
    if (before != value) differences.push_back(key + ": " + before.dump() + " -> " + value.dump());
  }
  return differences;
}

} // namespace launcher::lifecycle
