#include "health.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>

#include "error.hpp"

namespace launcher_init {
namespace {

constexpr int timeout_ms = 3000;

class Connection {
public:
  Connection(const std::string& address, std::uint16_t port);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { ::close(fd_); }
  void send(std::string_view text);
  // Reads until `complete` says the bytes so far suffice, the peer closes, or the timeout.
  template <typename Predicate> std::string receive(Predicate complete);

private:
  int fd_ = -1;
  std::string target_;
};

Connection::Connection(const std::string& address, std::uint16_t port)
    : target_(address + " port " + std::to_string(port)) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* ipv4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* ipv6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, address.c_str(), &ipv4->sin_addr) == 1) {
    ipv4->sin_family = AF_INET;
    ipv4->sin_port = htons(port);
    length = sizeof *ipv4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &ipv6->sin6_addr) == 1) {
    ipv6->sin6_family = AF_INET6;
    ipv6->sin6_port = htons(port);
    length = sizeof *ipv6;
  } else {
    throw failure("connect to", target_, "not an IP address");
  }
  fd_ = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw system_failure("connect to", target_);
  timeval timeout{timeout_ms / 1000, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    int error = errno;
    ::close(fd_);
    throw system_failure("connect to", target_, error);
  }
}

void Connection::send(std::string_view text) {
  while (!text.empty()) {
    ssize_t count = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw system_failure("send to", target_);
    text.remove_prefix(static_cast<std::size_t>(count));
  }
}

template <typename Predicate> std::string Connection::receive(Predicate complete) {
  std::string received;
  char buffer[512];
  while (!complete(received)) {
    ssize_t count = ::recv(fd_, buffer, sizeof buffer, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw system_failure("read from", target_);
    if (count == 0) break;
    received.append(buffer, static_cast<std::size_t>(count));
  }
  return received;
}

std::string probe_address(const Settings& settings) {
  if (!settings.listen_address || *settings.listen_address == "0.0.0.0") return "127.0.0.1";
  if (*settings.listen_address == "::") return "::1";
  return *settings.listen_address;
}

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
