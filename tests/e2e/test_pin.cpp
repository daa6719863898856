// Team pinning against a real registry: Debian's docker-registry (Distribution v2) on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <httplib.h>

#include "support.hpp"

extern char** environ;

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// A port nothing listens on: bound to 0, read back, released.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A registry on a free loopback port, storing into a temporary directory; stopped at the end.
struct Registry {
  TempDir storage;
  int port = 0;
  pid_t pid = -1;

  Registry() {
    port = free_port();
    storage.write("config.yml",
                  "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + (storage.path / "data").string() +
                      "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port) + "\nlog:\n  level: error\n");
    std::string config = (storage.path / "config.yml").string();
    std::vector<char*> argv{const_cast<char*>("docker-registry"), const_cast<char*>("serve"), config.data(), nullptr};
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
      skip_or_fail("docker-registry is not installed (Debian package docker-registry)");
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    client.set_read_timeout(1, 0);
    int status = 0;
    bool exited = false;
    bool answered = wait_until(
        [&] {
          if (auto answer = client.Get("/v2/"); answer && answer->status == 200) return true;
          exited = waitpid(pid, &status, WNOHANG) == pid;
          return exited;
        },
        std::chrono::seconds(30));
    if (exited) {
      pid = -1;
      FAIL("docker-registry exited with status " << status << " before answering on 127.0.0.1:" << port);
    }
    if (!answered) FAIL("docker-registry did not answer on 127.0.0.1:" << port);
  }
  ~Registry() {
    if (pid > 0) kill(pid, SIGTERM), waitpid(pid, nullptr, 0);
  }
  std::string prefix() const { return "127.0.0.1:" + std::to_string(port) + "/e2e"; }
};

launcher::process::ProcessResult docker_do(std::vector<std::string> args) {
  args.insert(args.begin(), docker());
  auto result = launcher::process::run_process(args);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return result;
}

} // namespace

TEST_CASE("pin writes the registry digest, up accepts it by digest and refuses a different image under the tag",
          "[e2e][pin]") {
  require_engine();
  Registry registry;
  TempDir dir;
  std::string tag = registry.prefix() + "/base:" + std::to_string(getpid());
  docker_do({"tag", base_image(), tag});
  docker_do({"push", tag});
  dir.write("launcher.json", json{{"version", 1},
                                  {"require_pinned_image", true},
                                  {"profiles", {{"dev", {{"extends", "shell"}, {"gpus", "none"}, {"image", tag}}}}}}
                                 .dump(2));

  auto unpinned = run_launcher(dir, {"up", "--dry-run", "--profile", "dev"});
  CHECK(unpinned.exit_code == 2);
  CHECK(unpinned.err.find("require_pinned_image is true, but profile \"dev\" uses " + tag) != std::string::npos);

  auto pinned = run_launcher(dir, {"pin", "--profile", "dev"});
  INFO(pinned.err);
  REQUIRE(pinned.exit_code == 0);
  json team = json::parse(std::ifstream(dir.path / "launcher.json"));
  std::string reference = team["profiles"]["dev"]["image"];
  REQUIRE(reference.rfind(tag + "@sha256:", 0) == 0);
  CHECK(team["require_pinned_image"] == true); // the rest of the file is kept

  // A member who has only the digest: remove the local tag, pull by digest, up accepts it.
  std::string by_digest = registry.prefix() + "/base@" + reference.substr(reference.find('@') + 1);
  docker_do({"image", "rm", tag});
  auto missing = run_launcher(dir, {"up", "--dry-run", "--profile", "dev"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("the pinned image " + by_digest +
                         " is not on this host; get the pinned one with `docker pull " + by_digest + "`") !=
        std::string::npos);
  docker_do({"pull", by_digest});
  auto accepted = run_launcher(dir, {"up", "--dry-run", "--profile", "dev"});
  INFO(accepted.err);
  CHECK(accepted.exit_code == 0);
  CHECK(accepted.out.find(reference) != std::string::npos);

  // Someone pushes a different image under the same tag: the pin refuses it.
  docker_do({"image", "rm", by_digest});
  TempDir context;
  context.write("Dockerfile", "FROM " + base_image() + "\nLABEL e2e.changed=" + std::to_string(getpid()) + "\n");
  docker_do({"build", "--quiet", "--tag", tag, context.path.string()});
  docker_do({"push", tag});
  auto refused = run_launcher(dir, {"up", "--dry-run", "--profile", "dev"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find(tag + " is pinned to " + reference.substr(reference.find('@') + 1) + ", but the local " + tag +
                         " is sha256:") != std::string::npos);
  docker_do({"image", "rm", tag});
}
