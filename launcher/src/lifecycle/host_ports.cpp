#include "lifecycle/host_ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

// A socket of the port's family and protocol bound to its address and `host_port` (0: any free
// one): the open descriptor, or -1 with errno set.
int bound_socket(const plan::PortBinding& port, int host_port) {
  bool v6 = port.bind.find(':') != std::string::npos;
  int fd = socket(v6 ? AF_INET6 : AF_INET, port.protocol == plan::Protocol::udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int reuse = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
  int result = -1;
  if (v6) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<uint16_t>(host_port));
    if (inet_pton(AF_INET6, port.bind.c_str(), &address.sin6_addr) == 1)
      result = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    else
      errno = EINVAL;
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(host_port));
    if (inet_pton(AF_INET, port.bind.c_str(), &address.sin_addr) == 1)
      result = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    else
      errno = EINVAL;
  }
  if (result != 0) {
    int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// One remembered port is found again by what the profile says of it: address, container port
// and protocol.
bool same_port(const json& entry, const plan::PortBinding& port) {
  return entry["bind"] == port.bind && entry["container"] == port.container_port &&
         entry["protocol"] == plan::name(port.protocol);
}

bool valid_entry(const json& entry) {
  if (!entry.is_object()) return false;
  for (const char* key : {"bind", "protocol"})
    if (!entry.contains(key) || !entry[key].is_string()) return false;
  for (const char* key : {"host", "container"})
    if (!entry.contains(key) || !entry[key].is_number_integer() || entry[key].get<long long>() < 1 ||
        entry[key].get<long long>() > 65535)
      return false;
  return true;
}

struct Record {
  json entries = json::array(); // valid entries only
  bool damaged = false;
};

Record read_record(const host::StateLayout& layout) {
  Record record;
  auto text = secrets::read_private_file(layout.host_ports());
  if (!text) return record;
  try {
    json value = json::parse(*text);
    if (!value.is_object() || !value.contains("ports") || !value["ports"].is_array()) {
      record.damaged = true;
      return record;
    }
    for (const auto& entry : value["ports"])
      if (valid_entry(entry))
        record.entries.push_back(entry);
      else
        record.damaged = true;
  } catch (const json::exception&) {
    record.damaged = true;
  }
  return record;
}

std::string address_text(const std::string& bind, int port) {
  return (bind.find(':') != std::string::npos ? "[" + bind + "]" : bind) + ":" + std::to_string(port);
}

// Writes the automatic ports' host ports into the env's record, keeping its entries for other ports.
void remember(const plan::Plan& plan, const std::vector<std::size_t>& automatic, const host::StateLayout& layout) {
  std::vector<std::size_t> chosen;
  for (std::size_t index : automatic)
    if (plan.ports[index].host_port) chosen.push_back(index);
  if (chosen.empty()) return;
  Record record = read_record(layout);
  json entries = json::array();
  for (const auto& entry : record.entries) {
    bool replaced = false;
    for (std::size_t index : chosen)
      replaced = replaced || same_port(entry, plan.ports[index]);
    if (!replaced) entries.push_back(entry);
  }
  for (std::size_t index : chosen) {
    const plan::PortBinding& port = plan.ports[index];
    entries.push_back({{"bind", port.bind},
                       {"container", port.container_port},
                       {"protocol", plan::name(port.protocol)},
                       {"host", *port.host_port}});
  }
  secrets::ensure_private_dir(layout.env_dir);
  secrets::write_private_file(layout.inside(layout.host_ports()), json{{"ports", entries}}.dump(2) + "\n");
}

// The host port the container was made with for `port`: 0 when none is fixed in it (Docker chose).
int published_host_port(const json& container, const plan::PortBinding& port) {
  const json* bindings = nullptr;
  try {
    bindings = &container.at("HostConfig")
                    .at("PortBindings")
                    .at(std::to_string(port.container_port) + "/" + plan::name(port.protocol));
  } catch (const json::exception&) {
    return 0;
  }
  if (!bindings->is_array()) return 0;
  for (const auto& binding : *bindings) {
    if (!binding.is_object() || binding.value("HostIp", json()) != port.bind) continue;
    json host = binding.value("HostPort", json());
    if (!host.is_string()) continue;
    const std::string& text = host.get_ref<const std::string&>();
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) continue;
    int number = std::stoi(text);
    if (number >= 1 && number <= 65535) return number;
  }
  return 0;
}

} // namespace

std::vector<std::size_t> automatic_ports(const plan::Plan& plan) {
  std::vector<std::size_t> automatic;
  for (std::size_t i = 0; i < plan.ports.size(); ++i)
    if (!plan.ports[i].host_port) automatic.push_back(i);
  return automatic;
}

void recall_host_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const host::StateLayout& layout,
                       std::ostream& warnings) {
  if (automatic.empty()) return;
  Record record = read_record(layout);
  if (record.damaged)
    warnings << "launcher: warning: " << layout.host_ports().string()
             << " is damaged (not the JSON the launcher writes): environment \"" << plan.env
             << "\" gets new host ports where it has none remembered\n";
  for (std::size_t index : automatic) {
    plan::PortBinding& port = plan.ports[index];
    for (const auto& entry : record.entries)
      if (same_port(entry, port)) port.host_port = entry["host"].get<int>();
  }
}

void adopt_container_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const json& container,
                           const host::StateLayout& layout) {
  bool adopted = false;
  for (std::size_t index : automatic) {
    plan::PortBinding& port = plan.ports[index];
    if (port.host_port) continue;
    if (int published = published_host_port(container, port)) {
      port.host_port = published;
      adopted = true;
    }
  }
  if (adopted) remember(plan, automatic, layout);
}

bool can_bind(const plan::PortBinding& port) {
  int fd = bound_socket(port, *port.host_port);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  return errno != EADDRINUSE; // any other failure: let Docker decide and say why
}

int free_port(const plan::PortBinding& port) {
  int fd = bound_socket(port, 0);
  if (fd < 0)
    throw Error(ExitCode::failed, "failed to find a free host port on " + port.bind + " for container port " +
                                      std::to_string(port.container_port) + "/" + plan::name(port.protocol) + ": " +
                                      std::strerror(errno));
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  int found = 0;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0)
    found = address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port)
                                          : ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  int error = errno;
  close(fd);
  if (found == 0)
    throw Error(ExitCode::failed,
                "failed to read the free host port chosen on " + port.bind + ": " + std::strerror(error));
  return found;
}

void choose_host_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const host::StateLayout& layout,
                       std::ostream& notes) {
  auto is_automatic = [&](std::size_t index) {
    return std::find(automatic.begin(), automatic.end(), index) != automatic.end();
  };
  for (std::size_t i = 0; i < plan.ports.size(); ++i) {
    plan::PortBinding& port = plan.ports[i];
    if (!is_automatic(i)) {
      if (!can_bind(port))
        throw Error(ExitCode::failed,
                    fmt::format("host port {} on {} is already in use by another program; free it, or let the "
                                "launcher pick a free one with -p auto:{} (\"host\": \"auto\" in the profile)",
                                *port.host_port, port.bind, port.container_port));
      continue;
    }
    if (port.host_port && can_bind(port)) continue;
    int chosen = free_port(port);
    if (port.host_port)
      notes << "launcher: port " << address_text(port.bind, *port.host_port) << " that environment \"" << plan.env
            << "\" had is now taken by another program; it publishes " << port.container_port << "/"
            << plan::name(port.protocol) << " on " << address_text(port.bind, chosen) << " instead\n";
    port.host_port = chosen;
  }
  remember(plan, automatic, layout);
}

void refuse_taken_ports(const plan::Plan& plan, const std::vector<std::size_t>& automatic) {
  for (std::size_t i = 0; i < plan.ports.size(); ++i) {
    const plan::PortBinding& port = plan.ports[i];
    if (!port.host_port || can_bind(port)) continue;
    bool automatic_port = std::find(automatic.begin(), automatic.end(), i) != automatic.end();
    throw Error(ExitCode::failed,
                fmt::format("host port {} of environment \"{}\" was taken by another program while its container "
                            "was stopped; {}",
                            address_text(port.bind, *port.host_port), plan.env,
                            automatic_port ? "`launcher up --recreate` makes the container again on a free port"
                                           : "free it, then `launcher up` again"));
  }
}

} // namespace launcher::lifecycle
