// "auto" host ports against the real engine: the built-in jupyter profile takes a free port of
// 127.0.0.1, an env keeps it when made again, and a port another program holds (the squatter:
// a socket this test binds) is never used nor fatal: `up` picks another and says so.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// Another program's TCP listener on 127.0.0.1:`port`, bound as any server binds (SO_REUSEADDR,
// so the TIME_WAIT connections the env's port left do not stop it).
struct Listener {
  int fd = -1;
  bool listening = false;
  explicit Listener(int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    int reuse = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listening = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && listen(fd, 8) == 0;
  }
  ~Listener() { close(fd); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
};

// `up` of the built-in jupyter profile without GPUs.
std::vector<std::string> jupyter(const std::string& name, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--profile", "jupyter", "--gpus", "none", "--name", name};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

int host_port_of(const json& ready) {
  REQUIRE(ready["ports"].size() == 1);
  CHECK(ready["ports"][0]["host_ip"] == "127.0.0.1");
  CHECK(ready["ports"][0]["container_port"] == 8888);
  return ready["ports"][0]["host_port"];
}

// The login URL `up` printed answers on the port it names.
void check_login(const json& ready, int port) {
  std::string url = ready["url"];
  std::string prefix = "http://127.0.0.1:" + std::to_string(port) + "/?token=";
  REQUIRE(url.rfind(prefix, 0) == 0);
  httplib::Client client("127.0.0.1", port);
  client.set_follow_location(true);
  auto login = client.Get(url.substr(url.find("/?token=")).c_str());
  REQUIRE(login);
  CHECK(login->status == 200);
}

} // namespace

TEST_CASE("ports: two envs of the built-in jupyter profile get different free ports, and one made again keeps its own",
          "[e2e][ports]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment first{dir, unique_name("port-a")};
  UpEnvironment second{dir, unique_name("port-b")};
  int first_port = host_port_of(up(dir, jupyter(first.name)));
  json second_ready = up(dir, jupyter(second.name));
  int second_port = host_port_of(second_ready);
  CHECK(first_port != second_port);
  check_login(second_ready, second_port);

  json listed = json::parse(run_launcher(dir, {"ps", "--json"}).out);
  auto entry = std::find_if(listed.begin(), listed.end(), [&](const json& e) { return e["env"] == first.name; });
  REQUIRE(entry != listed.end());
  CHECK((*entry)["endpoints"] == "127.0.0.1:" + std::to_string(first_port) + "->8888/tcp");

  auto down = run_launcher(dir, {"down", first.name, "--force"});
  REQUIRE(down.exit_code == 0);
  auto again = run_launcher(dir, {"up", "--json", "--image", lifecycle_image(), "--timeout", "180", "--profile",
                                  "jupyter", "--gpus", "none", "--name", first.name});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  json ready = json::parse(again.out);
  CHECK(host_port_of(ready) == first_port);
  CHECK(without_warnings(again.err).find("taken") == std::string::npos);
  check_login(ready, first_port);

  // A changed plan, recreated: still the same port.
  json recreated = up(dir, jupyter(first.name, {"-e", "CHANGED=1", "--recreate"}));
  CHECK(host_port_of(recreated) == first_port);
}

TEST_CASE("ports: a listener on the env's port between down and up gives a new port and one line saying so",
          "[e2e][ports][attack]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("port-squat")};
  int had = host_port_of(up(dir, jupyter(env.name)));
  REQUIRE(run_launcher(dir, {"down", env.name, "--force"}).exit_code == 0);

  Listener squatter(had); // another user's program on the port the env had
  REQUIRE(squatter.listening);
  auto again = run_launcher(dir, {"up", "--json", "--image", lifecycle_image(), "--timeout", "180", "--profile",
                                  "jupyter", "--gpus", "none", "--name", env.name});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  json ready = json::parse(again.out);
  int port = host_port_of(ready);
  CHECK(port != had);
  // One line says it (besides the progress lines of the wait), and nothing else mentions the port it had.
  std::string line =
      "launcher: port 127.0.0.1:" + std::to_string(had) + " that environment \"" + env.name +
      "\" had is now taken by another program; it publishes 8888/tcp on 127.0.0.1:" + std::to_string(port) +
      " instead\n";
  CHECK(without_warnings(again.err).find(line) != std::string::npos);
  std::string mention = "127.0.0.1:" + std::to_string(had);
  CHECK(again.err.find(mention, again.err.find(mention) + 1) == std::string::npos);
  check_login(ready, port);
}

TEST_CASE("ports: a listener on 127.0.0.1:8888 before up of the built-in jupyter profile neither stops it nor gets "
          "its users",
          "[e2e][ports][attack]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  // 8888 may already be held on this host by someone else: that is the same attack.
  Listener squatter(8888);
  INFO("listening on 127.0.0.1:8888 here: " << squatter.listening);
  UpEnvironment env{dir, unique_name("port-8888")};
  auto result = run_launcher(dir, {"up", "--json", "--image", lifecycle_image(), "--timeout", "180", "--profile",
                                   "jupyter", "--gpus", "none", "--name", env.name});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  json ready = json::parse(result.out);
  int port = host_port_of(ready);
  CHECK(port != 8888);
  check_login(ready, port);
}
