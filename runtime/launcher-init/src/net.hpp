#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"
#include "settings.hpp"

namespace launcher_init {

// A TCP connection to a service of the env, with 3 s timeouts on every step.
class Connection {
public:
  Connection(const std::string& address, std::uint16_t port);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();
  void send(std::string_view text);
  // Reads until `complete` says the bytes so far suffice, the peer closes, or the timeout.
  template <typename Predicate> std::string receive(Predicate complete);

private:
  int fd_ = -1;
  std::string target_;
};

// Where launcher-init reaches its own services: loopback when they listen on every address.
std::string probe_address(const Settings& settings);

// The body of `GET path` from Jupyter at address:port, authenticated by `token` in the header
// (never in the URL, which Jupyter logs); an Error unless it answers 200.
std::string jupyter_get(const std::string& address, std::uint16_t port, const std::string& path,
                        const std::string& token);

template <typename Predicate> std::string Connection::receive(Predicate complete) {
  std::string received;
  char buffer[4096];
  while (!complete(received)) {
    ssize_t count = ::recv(fd_, buffer, sizeof buffer, 0);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw system_failure("read from", target_);
    if (count == 0) break;
    received.append(buffer, static_cast<std::size_t>(count));
  }
  return received;
}

} // namespace launcher_init
