#include "health.hpp"

#include <iostream>

#include "error.hpp"
#include "net.hpp"

namespace launcher_init {
namespace {

void check_sshd(const std::string& address, std::uint16_t port) {
  Connection connection(address, port);
  auto banner = connection.receive([](const std::string& text) { return text.find('\n') != std::string::npos; });
  if (!banner.starts_with("SSH-2.0-")) {
    throw failure("check", "sshd on port " + std::to_string(port), "no SSH banner");
  }
}

void check_jupyter(const std::string& address, std::uint16_t port) {
  Connection connection(address, port);
  std::string host = address.find(':') == std::string::npos ? address : "[" + address + "]";
  connection.send("GET /api/status HTTP/1.0\r\nHost: " + host + ":" + std::to_string(port) + "\r\n\r\n");
  auto response = connection.receive([](const std::string& text) { return text.find("\r\n") != std::string::npos; });
  auto status_line = response.substr(0, response.find("\r\n"));
  // 200 without credentials would mean Jupyter runs with authentication disabled.
  if (status_line.find(" 403") == std::string::npos) {
    throw failure("check", "jupyter /api/status on port " + std::to_string(port),
                  "expected 403 without a token, got '" + status_line + "'");
  }
}

} // namespace

int check_health(const Settings& settings) {
  auto address = probe_address(settings);
  int status = 0;
  auto check = [&status](auto probe) {
    try {
      probe();
    } catch (const Error& error) {
      std::cerr << "launcher-init: " << error.what() << "\n";
      status = exit_failed;
    }
  };
  if (settings.has(Service::ssh)) check([&] { check_sshd(address, settings.ssh_port); });
  if (settings.has(Service::jupyter)) check([&] { check_jupyter(address, settings.jupyter_port); });
  return status;
}

} // namespace launcher_init
