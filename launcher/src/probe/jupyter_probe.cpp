#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "probe/probe.hpp"

namespace launcher::probe {

namespace {

// One GET /api/status a look, on a socket of its own: a status line is all the probe reads, so
// no HTTP library (cpp-httplib set up OpenSSL in every launcher process it was linked into).
class Connection {
public:
  explicit Connection(int fd) : fd_(fd) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or the deadline passes; the failure says which.
std::string wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return "timed out";
    pollfd entry{fd, events, 0};
    int ready = poll(&entry, 1, static_cast<int>(left));
    if (ready > 0) return "";
    if (ready < 0 && errno != EINTR) return std::strerror(errno);
  }
}

// A socket connected to host:port within the timeout; -1, and why in `why`, when none is.
int connect_to(const std::string& host, int port, std::chrono::milliseconds timeout, std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); error != 0) {
    why = gai_strerror(error);
    return -1;
  }
  why = "no address";
  auto deadline = Clock::now() + timeout;
  int connected = -1;
  for (addrinfo* address = found; address && connected < 0; address = address->ai_next) {
    Connection attempt(socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (attempt.fd() < 0 ||
        (connect(attempt.fd(), address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS)) {
      why = std::strerror(errno);
      continue;
    }
    if (why = wait_for(attempt.fd(), POLLOUT, deadline); !why.empty()) continue;
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(attempt.fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) {
      why = std::strerror(error);
      continue;
    }
    connected = attempt.release();
  }
  freeaddrinfo(found);
  return connected;
}

struct Answer {
  std::optional<int> status; // none: no HTTP answer (yet)
  std::string detail;        // why not
};

Answer get_status(const std::string& host, int port, const std::string& authorization) {
  std::string why;
  Connection connection(connect_to(host, port, std::chrono::seconds(1), why));
  if (connection.fd() < 0) return {{}, why};
  int fd = connection.fd();
  std::string authority = host.find(':') == std::string::npos ? host : "[" + host + "]";
  std::string request = "GET /api/status HTTP/1.1\r\nHost: " + authority + ":" + std::to_string(port) +
                        "\r\nConnection: close\r\n" +
                        (authorization.empty() ? "" : "Authorization: " + authorization + "\r\n") + "\r\n";
  auto deadline = Clock::now() + std::chrono::seconds(2);
  for (std::size_t sent = 0; sent < request.size();) {
    if (std::string why = wait_for(fd, POLLOUT, deadline); !why.empty()) return {{}, "send: " + why};
    ssize_t count = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (count < 0 && errno != EINTR && errno != EAGAIN) return {{}, std::string("send: ") + std::strerror(errno)};
    if (count > 0) sent += static_cast<std::size_t>(count);
  }
  std::string response;
  char buffer[512];
  // The status line is at most a few dozen bytes; a server that sends more without one is not HTTP.
  while (response.find("\r\n") == std::string::npos && response.size() < 4096) {
    if (std::string why = wait_for(fd, POLLIN, deadline); !why.empty()) return {{}, "read: " + why};
    ssize_t count = recv(fd, buffer, sizeof buffer, 0);
    if (count == 0) break;
    if (count < 0 && errno != EINTR && errno != EAGAIN) return {{}, std::string("read: ") + std::strerror(errno)};
    if (count > 0) response.append(buffer, static_cast<std::size_t>(count));
  }
  auto status = http_status(response);
  if (!status) return {{}, response.empty() ? "closed without an answer" : "not an HTTP status line"};
  return {status, ""};
}

} // namespace

std::optional<int> http_status(std::string_view response) {
  // "HTTP/1.x NNN": the version's digit, a space and three digits, then a space or the line's end.
  constexpr std::string_view version = "HTTP/1.";
  if (response.size() < 12 || response.substr(0, version.size()) != version) return std::nullopt;
  auto digit = [&](std::size_t at) { return response[at] >= '0' && response[at] <= '9'; };
  if (!digit(7) || response[8] != ' ' || !digit(9) || !digit(10) || !digit(11)) return std::nullopt;
  if (response.size() > 12 && response[12] != ' ' && response[12] != '\r') return std::nullopt;
  return (response[9] - '0') * 100 + (response[10] - '0') * 10 + (response[11] - '0');
}

Observation probe_jupyter(const std::string& host, int port, const std::string& token) {
  Answer with_token = get_status(host, port, "token " + token);
  if (!with_token.status) return {Observation::State::waiting, "no HTTP answer yet (" + with_token.detail + ")"};
  if (*with_token.status != 200)
    return {Observation::State::waiting, "/api/status with the token answered " + std::to_string(*with_token.status)};
  Answer without_token = get_status(host, port, "");
  if (!without_token.status) return {Observation::State::waiting, "no HTTP answer yet"};
  if (*without_token.status == 200)
    return {Observation::State::broken, "Jupyter answers /api/status without a token: authentication is off"};
  if (*without_token.status != 403)
    return {Observation::State::waiting,
            "/api/status without the token answered " + std::to_string(*without_token.status)};
  return {Observation::State::ready, "200 with the token, 403 without"};
}

} // namespace launcher::probe
