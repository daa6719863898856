#pragma once

// What an env runs. The profile's "service" and LAUNCHER_SERVICE (contract.hpp) spell each by its
// name(); launcher-init starts the services that variable names.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace launcher::contract {

enum class Service { jupyter, ssh, shell, command };

inline constexpr std::array<Service, 4> services{Service::jupyter, Service::ssh, Service::shell, Service::command};

inline std::string name(Service service) {
  switch (service) {
  case Service::jupyter:
    return "jupyter";
  case Service::ssh:
    return "ssh";
  case Service::shell:
    return "shell";
  case Service::command:
    return "command";
  }
  return "unknown"; // only a value cast from outside the enum
}

// nullopt for a text that names no service: each program says so in its own error.
inline std::optional<Service> service_named(std::string_view text) {
  for (Service service : services)
    if (name(service) == text) return service;
  return std::nullopt;
}

// "jupyter, ssh, shell or command": what an error expects instead.
inline std::string service_choices() {
  std::string text;
  for (std::size_t index = 0; index < services.size(); ++index)
    text += (index == 0 ? "" : index + 1 == services.size() ? " or " : ", ") + name(services[index]);
  return text;
}

} // namespace launcher::contract
