#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "probe/probe.hpp"

using namespace launcher;

namespace {

// A server on 127.0.0.1 that answers each connection with the status line `answer` gives for its
// request (or closes at once for ""), and keeps the requests it read.
class StatusServer {
public:
  explicit StatusServer(std::function<std::string(const std::string& request)> answer) : answer_(std::move(answer)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(fd_, 8) == 0);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~StatusServer() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }

  int port = 0;
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

private:
  void serve() {
    while (true) {
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[512];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t count = recv(client, buffer, sizeof buffer, 0);
        if (count <= 0) break;
        request.append(buffer, static_cast<std::size_t>(count));
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
      }
      std::string response = answer_(request);
      if (!response.empty()) (void)send(client, response.data(), response.size(), MSG_NOSIGNAL);
      close(client);
    }
  }

  std::function<std::string(const std::string&)> answer_;
  int fd_ = -1;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

bool has_token(const std::string& request) {
  return request.find("\r\nAuthorization: token t0k3n\r\n") != std::string::npos;
}

} // namespace

TEST_CASE("http status: the code of an HTTP/1.x status line, nothing from other bytes", "[probe][jupyter]") {
  CHECK(probe::http_status("HTTP/1.1 200 OK\r\nServer: x\r\n") == 200);
  CHECK(probe::http_status("HTTP/1.0 403 Forbidden\r\n") == 403);
  CHECK(probe::http_status("HTTP/1.1 404\r\n") == 404);
  CHECK(probe::http_status("HTTP/1.1 599") == 599);
  CHECK_FALSE(probe::http_status(""));
  CHECK_FALSE(probe::http_status("HTTP/1.1 20"));
  CHECK_FALSE(probe::http_status("HTTP/2 200 OK\r\n"));
  CHECK_FALSE(probe::http_status("HTTP/1.1 2000 OK\r\n"));
  CHECK_FALSE(probe::http_status("HTTP/1.1 -20 OK\r\n"));
  CHECK_FALSE(probe::http_status("SSH-2.0-OpenSSH_9.2\r\n"));
  CHECK_FALSE(probe::http_status(std::string_view("HTTP/1.1 \0\0\0 OK", 16)));
}

TEST_CASE("jupyter probe: ready on 200 with the token in the header and 403 without", "[probe][jupyter]") {
  StatusServer server([](const std::string& request) {
    return has_token(request) ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.1 403 Forbidden\r\n\r\n";
  });
  probe::Observation seen = probe::probe_jupyter("127.0.0.1", server.port, "t0k3n");
  CHECK(seen.state == probe::Observation::State::ready);
  CHECK(seen.detail == "200 with the token, 403 without");
  std::vector<std::string> requests = server.requests();
  REQUIRE(requests.size() == 2);
  // The token travels in the header only: Jupyter logs a refused request's URL whole.
  CHECK(requests[0].rfind("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port) + "\r\n", 0) ==
        0);
  CHECK(requests[0].find("t0k3n") == requests[0].find("Authorization: token ") + 21);
  CHECK(requests[1].find("t0k3n") == std::string::npos);
}

TEST_CASE("jupyter probe: 200 without the token is refused, other answers are waited out", "[probe][jupyter]") {
  SECTION("authentication off") {
    StatusServer server([](const std::string&) { return "HTTP/1.1 200 OK\r\n\r\n"; });
    probe::Observation seen = probe::probe_jupyter("127.0.0.1", server.port, "t0k3n");
    CHECK(seen.state == probe::Observation::State::broken);
    CHECK(seen.detail == "Jupyter answers /api/status without a token: authentication is off");
  }
  SECTION("still starting") {
    StatusServer server([](const std::string&) { return "HTTP/1.1 503 Service Unavailable\r\n\r\n"; });
    probe::Observation seen = probe::probe_jupyter("127.0.0.1", server.port, "t0k3n");
    CHECK(seen.state == probe::Observation::State::waiting);
    CHECK(seen.detail == "/api/status with the token answered 503");
  }
  SECTION("closed at once, as a proxy does before the service listens") {
    StatusServer server([](const std::string&) { return ""; });
    probe::Observation seen = probe::probe_jupyter("127.0.0.1", server.port, "t0k3n");
    CHECK(seen.state == probe::Observation::State::waiting);
    CHECK(seen.detail == "no HTTP answer yet (closed without an answer)");
  }
  SECTION("not HTTP") {
    StatusServer server([](const std::string&) { return "SSH-2.0-OpenSSH_9.2\r\n"; });
    CHECK(probe::probe_jupyter("127.0.0.1", server.port, "t0k3n").detail ==
          "no HTTP answer yet (not an HTTP status line)");
  }
}

TEST_CASE("jupyter probe: nothing listening is waited out, with the reason", "[probe][jupyter]") {
  int port = 0;
  {
    StatusServer closed([](const std::string&) { return ""; });
    port = closed.port;
  } // closed: the port refuses now
  probe::Observation seen = probe::probe_jupyter("127.0.0.1", port, "t0k3n");
  CHECK(seen.state == probe::Observation::State::waiting);
  CHECK(seen.detail == "no HTTP answer yet (Connection refused)");
}
