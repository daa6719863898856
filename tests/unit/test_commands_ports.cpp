// "auto" host ports: `up` picks a free one on the port's address, remembers it in the env's state,
// asks for it again when the env is made again, and says so in one line when another program took
// it meanwhile. Explicit ports stay as written. Real sockets on 127.0.0.1 stand for the squatter.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "core/read_file.hpp"
#include "lifecycle/host_ports.hpp"
#include "plan/choices.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::contains;
using launcher::testing::env;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A TCP listener on 127.0.0.1 held for the test's lifetime: another program's port.
struct Squatter {
  int fd = -1;
  int port = 0;
  Squatter() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t size = sizeof address;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port = ntohs(address.sin_port);
  }
  ~Squatter() { close(fd); }
  Squatter(const Squatter&) = delete;
  Squatter& operator=(const Squatter&) = delete;
};

plan::PortBinding loopback_tcp(int host_port) { return {"127.0.0.1", host_port, 9000, plan::Protocol::tcp}; }

// A bench where `up` of the shell profile makes a new container that is ready at once.
struct PortsBench : Bench {
  PortsBench() {
    engine.add_network("launcher-" + env, {{"io.launcher.env", env}});
    engine.run_makes(container_of("any", true));
  }
  // `up` of the shell profile with `extra`, past the host checks (whose warnings the replayed facts cause).
  int up(std::vector<std::string> extra) {
    extra.push_back("--skip-checks");
    return Bench::up(extra);
  }
  fs::path record() const { return dir.path / "state/launcher/envs" / env / "ports.json"; }
  void remember(const std::string& content) {
    fs::create_directories(record().parent_path());
    fs::permissions(dir.path / "state", fs::perms::owner_all);
    fs::permissions(dir.path / "state/launcher", fs::perms::owner_all);
    fs::permissions(record().parent_path().parent_path(), fs::perms::owner_all);
    fs::permissions(record().parent_path(), fs::perms::owner_all);
    std::ofstream(record()) << content;
    fs::permissions(record(), fs::perms::owner_read | fs::perms::owner_write);
  }
  void remember_port(int host_port) {
    remember(json{{"ports", {{{"bind", "127.0.0.1"}, {"container", 9000}, {"protocol", "tcp"}, {"host", host_port}}}}}
                 .dump());
  }
  // The ports of the plan of the one `run`, as "BIND:HOST:CONTAINER/PROTOCOL" ("auto" for no host port).
  std::vector<std::string> published() const {
    auto runs = engine.runs();
    REQUIRE(runs.size() == 1);
    std::vector<std::string> values;
    for (const auto& port : runs[0].ports)
      values.push_back(port.bind + ":" + (port.host_port ? std::to_string(*port.host_port) : "auto") + ":" +
                       std::to_string(port.container_port) + "/" + plan::name(port.protocol));
    return values;
  }
  int remembered_port() const { return json::parse(read_file(record()))["ports"][0]["host"].get<int>(); }
};

int port_of(const std::string& publish) { // "127.0.0.1:P:9000/tcp" -> P
  auto first = publish.find(':');
  return std::stoi(publish.substr(first + 1, publish.find(':', first + 1) - first - 1));
}

} // namespace

TEST_CASE("can_bind is false only for a port another program holds, and free_port gives one that binds",
          "[commands][ports][lifecycle]") {
  Squatter squatter;
  CHECK_FALSE(lifecycle::can_bind(loopback_tcp(squatter.port)));
  int chosen = lifecycle::free_port(loopback_tcp(0));
  CHECK(chosen != squatter.port);
  CHECK(lifecycle::can_bind(loopback_tcp(chosen)));
  CHECK_THROWS_WITH(lifecycle::free_port({"203.0.113.7", 0, 9000, plan::Protocol::tcp}),
                    Catch::StartsWith("failed to find a free host port on 203.0.113.7 for container port 9000/tcp: "));
}

TEST_CASE("up gives an auto port a free host port on its address, publishes it and remembers it (0600)",
          "[commands][ports][up]") {
  PortsBench bench;
  REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
  INFO(bench.err.str());
  auto published = bench.published();
  REQUIRE(published.size() == 1);
  int port = port_of(published[0]);
  CHECK(published[0] == "127.0.0.1:" + std::to_string(port) + ":9000/tcp");
  CHECK(port != 9000);
  CHECK(json::parse(read_file(bench.record())) ==
        json{{"ports", {{{"bind", "127.0.0.1"}, {"container", 9000}, {"protocol", "tcp"}, {"host", port}}}}});
  CHECK((fs::status(bench.record()).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK_FALSE(contains(bench.err.str(), "taken"));
}

TEST_CASE("up asks again for the host port the env had: a recreated env keeps its port", "[commands][ports][up]") {
  PortsBench bench;
  int had = lifecycle::free_port(loopback_tcp(0));
  bench.remember_port(had);
  SECTION("up --dry-run shows it") {
    REQUIRE(bench.up({"-p", "auto:9000", "--dry-run"}) == 0);
    CHECK(contains(bench.out.str(), "--publish 127.0.0.1:" + std::to_string(had) + ":9000/tcp"));
    CHECK(bench.engine.runs().empty());
  }
  SECTION("up publishes it and says nothing about it") {
    REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
    CHECK(bench.published() == std::vector<std::string>{"127.0.0.1:" + std::to_string(had) + ":9000/tcp"});
    CHECK(bench.remembered_port() == had);
    CHECK(bench.err.str().empty());
  }
}

TEST_CASE("up says in one line that the env's port was taken, and publishes and remembers a new one",
          "[commands][ports][up][attack]") {
  PortsBench bench;
  Squatter squatter;
  bench.remember_port(squatter.port);
  REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
  auto published = bench.published();
  REQUIRE(published.size() == 1);
  int port = port_of(published[0]);
  CHECK(port != squatter.port);
  CHECK(bench.remembered_port() == port);
  CHECK(bench.err.str() == "launcher: port 127.0.0.1:" + std::to_string(squatter.port) + " that environment \"" + env +
                               "\" had is now taken by another program; it publishes 9000/tcp on 127.0.0.1:" +
                               std::to_string(port) + " instead\n");
}

TEST_CASE("an explicit host port is published as written and never remembered, and refused when taken",
          "[commands][ports][up]") {
  PortsBench bench;
  SECTION("free") {
    int port = lifecycle::free_port(loopback_tcp(0));
    REQUIRE(bench.up({"-p", std::to_string(port) + ":9000"}) == 0);
    CHECK(bench.published() == std::vector<std::string>{"127.0.0.1:" + std::to_string(port) + ":9000/tcp"});
    CHECK_FALSE(fs::exists(bench.record()));
  }
  SECTION("taken") {
    Squatter squatter;
    CHECK(bench.up({"-p", std::to_string(squatter.port) + ":9000"}) == 1);
    CHECK(bench.err.str() == "launcher: error: host port " + std::to_string(squatter.port) +
                                 " on 127.0.0.1 is already in use by another program; free it, or let the launcher "
                                 "pick a free one with -p auto:9000 (\"host\": \"auto\" in the profile)\n");
    CHECK(bench.engine.runs().empty());
  }
}

TEST_CASE("a damaged port record is named, and the env gets a new port recorded in its place",
          "[commands][ports][up]") {
  PortsBench bench;
  const char* damaged =
      GENERATE(R"({"ports": [{"bind": "127.0.0.1", "container": 9000, "protocol": "tcp", "host": 0}]})", "not json",
               R"({"ports": 1})", "[]");
  bench.remember(damaged);
  REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
  CHECK(bench.err.str() == "launcher: warning: " + bench.record().string() +
                               " is damaged (not the JSON the launcher writes): environment \"" + env +
                               "\" gets new host ports where it has none remembered\n");
  CHECK(bench.remembered_port() == port_of(bench.published().at(0)));
}

TEST_CASE("up keeps what the record holds for other ports of the env", "[commands][ports][up]") {
  PortsBench bench;
  bench.remember(R"({"ports": [{"bind": "127.0.0.1", "container": 6006, "protocol": "udp", "host": 40000}]})");
  REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
  json entries = json::parse(read_file(bench.record()))["ports"];
  REQUIRE(entries.size() == 2);
  CHECK(entries[0] == json{{"bind", "127.0.0.1"}, {"container", 6006}, {"protocol", "udp"}, {"host", 40000}});
  CHECK(entries[1]["container"] == 9000);
}

TEST_CASE("a stopped env whose port another program took is not started, and the error says how to get a free one",
          "[commands][ports][up]") {
  Bench bench;
  Squatter squatter;
  fs::path record = bench.dir.path / "state/launcher/envs" / env / "ports.json";
  fs::create_directories(record.parent_path());
  for (fs::path dir = record.parent_path(); dir != bench.dir.path; dir = dir.parent_path())
    fs::permissions(dir, fs::perms::owner_all);
  std::ofstream(record)
      << json{{"ports", {{{"bind", "127.0.0.1"}, {"container", 9000}, {"protocol", "tcp"}, {"host", squatter.port}}}}}
             .dump();
  fs::permissions(record, fs::perms::owner_read | fs::perms::owner_write);
  // The plan the stopped container was made with: the remembered port, as `up --dry-run` shows it.
  REQUIRE(bench.up({"-p", "auto:9000", "--dry-run", "--json"}) == 0);
  std::string hash = json::parse(bench.out.str())["plan_hash"];
  bench.has_container(hash, false);
  CHECK(bench.up({"-p", "auto:9000", "--skip-checks"}) == 1);
  CHECK(bench.err.str() == "launcher: error: host port 127.0.0.1:" + std::to_string(squatter.port) +
                               " of environment \"" + env +
                               "\" was taken by another program while its container was stopped; `launcher up "
                               "--recreate` makes the container again on a free port\n");
  CHECK(bench.engine.asked_to("start ").empty());
}

TEST_CASE("down --purge deletes the env's remembered ports", "[commands][ports][down][purge]") {
  PortsBench bench;
  REQUIRE(bench.up({"-p", "auto:9000"}) == 0);
  REQUIRE(fs::exists(bench.record()));
  // Its container is gone already: only its files go.
  REQUIRE(bench.engine.remove_container(env));
  REQUIRE(bench.run({"down", "--purge", "--yes", env}) == 0);
  CHECK_FALSE(fs::exists(bench.record()));
  CHECK_FALSE(fs::exists(bench.record().parent_path()));
}

TEST_CASE("an env whose container predates the port record keeps the port the container was made with",
          "[commands][ports][up]") {
  Bench bench;
  int had = lifecycle::free_port(loopback_tcp(0));
  // The container was made with the port fixed in it, as an explicit one renders.
  std::string hash = bench.plan_hash({"-p", std::to_string(had) + ":9000"});
  json container{{"Id", "c0ffee"},
                 {"Name", "/" + env},
                 {"State", {{"Running", true}, {"Status", "running"}, {"ExitCode", 0}, {"OOMKilled", false}}},
                 {"Config",
                  {{"Labels",
                    {{"io.launcher.env", env},
                     {"io.launcher.profile", "shell"},
                     {"io.launcher.plan-hash", hash},
                     {"io.launcher.gpus", "none"}}},
                   {"Env", {"LAUNCHER_USER=root", "LAUNCHER_UID=0", "LAUNCHER_WORKDIR=/workspace"}}}},
                 {"HostConfig",
                  {{"Memory", 268435456},
                   {"PortBindings", {{"9000/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", std::to_string(had)}}}}}}}},
                 {"NetworkSettings", {{"Ports", json::object()}}},
                 {"Mounts", json::array({{{"Destination", "/workspace"}}})}};
  bench.engine.add_container(container);
  REQUIRE(bench.up({"-p", "auto:9000", "--skip-checks"}) == 0);
  INFO(bench.err.str());
  CHECK(bench.engine.runs().empty());
  CHECK_FALSE(contains(bench.err.str(), "different plan"));
  fs::path record = bench.dir.path / "state/launcher/envs" / env / "ports.json";
  CHECK(json::parse(read_file(record))["ports"][0]["host"] == had);
}
