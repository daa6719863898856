#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

namespace launcher_init {
namespace {

constexpr int timeout_ms = 3000;

} // namespace

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

Connection::~Connection() { ::close(fd_); }

void Connection::send(std::string_view text) {
  while (!text.empty()) {
    ssize_t count = ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw system_failure("send to", target_);
    text.remove_prefix(static_cast<std::size_t>(count));
  }
}

std::string probe_address(const Settings& settings) {
  if (!settings.listen_address || *settings.listen_address == "0.0.0.0") return "127.0.0.1";
  if (*settings.listen_address == "::") return "::1";
  return *settings.listen_address;
}

std::string jupyter_get(const std::string& address, std::uint16_t port, const std::string& path,
                        const std::string& token) {
  Connection connection(address, port);
  std::string host = address.find(':') == std::string::npos ? address : "[" + address + "]";
  // HTTP/1.0: the server closes after the body, so the body ends where the stream does.
  connection.send("GET " + path + " HTTP/1.0\r\nHost: " + host + ":" + std::to_string(port) +
                  "\r\nAuthorization: token " + token + "\r\n\r\n");
  constexpr std::size_t max_response = 4 << 20; // a long list of kernels is a few kilobytes
  auto response = connection.receive([](const std::string& text) { return text.size() > max_response; });
  auto status_line = response.substr(0, response.find("\r\n"));
  if (status_line.find(" 200") == std::string::npos) {
    throw failure("ask", "jupyter " + path, "expected 200, got '" + status_line + "'");
  }
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

} // namespace launcher_init
