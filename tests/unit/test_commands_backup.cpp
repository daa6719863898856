#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "docker/docker.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::contains;
using launcher::testing::env;
using nlohmann::json;

namespace {

const std::string repository = "s3://ckpt/team/unit-env";

// The bench's env, made with a backup: its container carries the label `ps` and `down` read.
void has_backing_up_container(Bench& bench, bool running) {
  json container{{"Id", "c0ffee"},
                 {"Name", "/" + env},
                 {"State", {{"Running", running}, {"Status", running ? "running" : "exited"}, {"ExitCode", 0}}},
                 {"Config",
                  {{"Labels",
                    {{"io.launcher.env", env},
                     {"io.launcher.profile", "shell"},
                     {"io.launcher.plan-hash", "h"},
                     {"io.launcher.gpus", "none"},
                     {"io.launcher.backup", repository}}},
                   {"Env", {"LAUNCHER_USER=root", "LAUNCHER_UID=0"}}}},
                 {"HostConfig", {{"Memory", 268435456}}},
                 {"NetworkSettings", {{"Ports", json::object()}}},
                 {"Mounts", json::array()}};
  bench.docker.on({"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env=" + env}, "c0ffee\n");
  bench.docker.on({"container", "inspect", "c0ffee"}, json::array({container}).dump());
  bench.docker.on({"container", "inspect", env}, json::array({container}).dump());
}

const json finished{{"version", "20261207T011500Z"}, {"files", 2},     {"bytes", 2048},
                    {"uploaded_bytes", 1024},        {"seconds", 1.5}, {"throughput_mb_s", 1.4}};

} // namespace

TEST_CASE("backup runs launcher-init's backup as root in the env and prints its result", "[commands][backup]") {
  Bench bench;
  has_backing_up_container(bench, true);
  bench.docker.on({"exec", "-u", "0", env, "launcher-init", "backup", "run", "--json"}, finished.dump());
  REQUIRE(bench.run({"backup", env}) == 0);
  CHECK(bench.out.str() == "backup 20261207T011500Z of unit-env: 2 files, 2.0 KiB (1.0 KiB uploaded) in 1.5 s, 1.4 "
                           "MB/s\n");
  REQUIRE(bench.run({"backup", env, "--json"}) == 0);
  CHECK(json::parse(bench.out.str()) == finished);
}

TEST_CASE("backup of an env without one, or a stopped one, is one line, and a failure is launcher-init's line",
          "[commands][backup]") {
  Bench bench;
  bench.has_container("h", true);
  CHECK(bench.run({"backup", env}) == 1);
  CHECK(bench.err.str() == "launcher: error: environment \"unit-env\" has no backup: its profile has no \"backup\" key "
                           "(see docs/backup.md)\n");
  Bench stopped;
  has_backing_up_container(stopped, false);
  CHECK(stopped.run({"backups", env}) == 1);
  CHECK(contains(stopped.err.str(),
                 "is not running (exited (0)); listing the backups runs inside it: `launcher up` it first\n"));
  Bench failing;
  has_backing_up_container(failing, true);
  failing.docker.on({"exec", "-u", "0", env, "launcher-init", "backup", "run"}, "", 1,
                    "launcher-init: bucket \"ckpt\" does not exist\n");
  CHECK(failing.run({"backup", env}) == 1);
  CHECK(failing.err.str() ==
        "launcher: error: backup of unit-env failed: launcher-init: bucket \"ckpt\" does not exist\n");
}

TEST_CASE("down backs up once more first, refuses when that fails, and --force skips it", "[commands][down][backup]") {
  Bench bench;
  has_backing_up_container(bench, true);
  bench.docker.on({"exec", "-u", "0", env, "launcher-init", "backup", "run"}, "", 1,
                  "launcher-init: cannot reach http://host.docker.internal:9000\n");
  bench.docker.on({"diff"}, "");
  CHECK(bench.run({"down", env}) == 1);
  CHECK(contains(bench.err.str(), "the final backup of unit-env failed: launcher-init: cannot reach "
                                  "http://host.docker.internal:9000; nothing was removed (--force removes it without "
                                  "a final backup)\n"));
  CHECK(bench.docker.calls_to({"rm"}).empty());
  CHECK(bench.docker.calls_to({"stop"}).empty());
}

TEST_CASE("ps reads the last backup of each running env that backs up, and only of those", "[commands][ps][backup]") {
  Bench bench;
  std::string listing =
      docker::listing_format({"io.launcher.env", "io.launcher.profile", "io.launcher.gpus", "io.launcher.backup"});
  bench.docker.on({"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format", listing},
                  R"({"id":"1","name":"plain","image":"i","state":"running","status":"Up 2 hours","ports":"",)"
                  R"("labels":{"io.launcher.env":"plain","io.launcher.profile":"shell","io.launcher.gpus":"none"}})"
                  "\n"
                  R"({"id":"2","name":"saved","image":"i","state":"running","status":"Up 1 hour","ports":"",)"
                  R"("labels":{"io.launcher.env":"saved","io.launcher.profile":"shell","io.launcher.gpus":"none",)"
                  R"("io.launcher.backup":"s3://ckpt/saved"}})"
                  "\n");
  bench.docker.on({"exec", "-u", "0", "saved", "launcher-init", "backup", "status", "--json"},
                  R"({"result":"failed","finished_at":"1970-01-01T00:00:01Z","message":"access denied"})");
  REQUIRE(bench.run({"ps", "--json"}) == 0);
  json listed = json::parse(bench.out.str());
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["backup"].is_null());
  CHECK(listed[1]["backup"]["repository"] == "s3://ckpt/saved");
  CHECK(listed[1]["backup"]["last"] ==
        json{{"result", "failed"}, {"finished_at", "1970-01-01T00:00:01Z"}, {"message", "access denied"}});
  CHECK(contains(listed[1]["backup"]["summary"].get<std::string>(), " ago failed: access denied"));
  CHECK(bench.docker.calls_to({"exec"}).size() == 1); // one exec, for the env that backs up
  REQUIRE(bench.run({"ps"}) == 0);
  CHECK(contains(bench.out.str(), "  BACKUP\n"));
  CHECK(contains(bench.out.str(), "  -\n"));
}
