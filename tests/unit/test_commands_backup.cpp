#include <catch2/catch.hpp>

#include "command_bench.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::contains;
using launcher::testing::env;
using nlohmann::json;

namespace {

const std::string repository = "s3://ckpt/team/unit-env";

// The bench's env, made with a backup: its container carries the label `ps` and `down` read.
void has_backing_up_container(Bench& bench, bool running) {
  bench.engine.add_container(
      {{"Id", "c0ffee"},
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
       {"Mounts", json::array()}});
}

// launcher-init's backup command, run as root in the env (as the engine's exec is recorded).
std::string backup_command(const std::string& container, const std::string& words) {
  return "exec " + container + " as 0: launcher-init backup " + words;
}

const json finished{{"version", "20261207T011500Z"}, {"files", 2},     {"bytes", 2048},
                    {"uploaded_bytes", 1024},        {"seconds", 1.5}, {"throughput_mb_s", 1.4}};

} // namespace

TEST_CASE("backup runs launcher-init's backup as root in the env and prints its result", "[commands][backup]") {
  Bench bench;
  has_backing_up_container(bench, true);
  bench.engine.answer_exec(backup_command(env, "run --json"), {0, finished.dump(), ""});
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
  failing.engine.answer_exec(backup_command(env, "run"), {1, "", "launcher-init: bucket \"ckpt\" does not exist\n"});
  CHECK(failing.run({"backup", env}) == 1);
  CHECK(failing.err.str() ==
        "launcher: error: backup of unit-env failed: launcher-init: bucket \"ckpt\" does not exist\n");
}

TEST_CASE("down backs up once more first, refuses when that fails, and --force skips it", "[commands][down][backup]") {
  Bench bench;
  has_backing_up_container(bench, true);
  bench.engine.answer_exec(backup_command(env, "run"),
                           {1, "", "launcher-init: cannot reach http://host.docker.internal:9000\n"});
  bench.engine.answer_changed_files(env, "");
  bench.engine.answer_exec("exec " + env + " as (the image's user): cat",
                           {1, "", "cat: no such file"}); // no package record
  CHECK(bench.run({"down", env}) == 1);
  CHECK(contains(bench.err.str(), "the final backup of unit-env failed: launcher-init: cannot reach "
                                  "http://host.docker.internal:9000; nothing was removed (--force removes it without "
                                  "a final backup)\n"));
  CHECK(bench.removed_no_container());
  CHECK(bench.engine.asked_to("stop ").empty());
}

TEST_CASE("ps reads the last backup of each running env that backs up, and only of those", "[commands][ps][backup]") {
  Bench bench;
  auto running = [&](const std::string& name, const std::string& status, json labels) {
    labels["io.launcher.env"] = name;
    labels["io.launcher.profile"] = "shell";
    labels["io.launcher.gpus"] = "none";
    bench.engine.add_container({{"Id", name},
                                {"Name", "/" + name},
                                {"Status", status},
                                {"State", {{"Running", true}, {"Status", "running"}}},
                                {"Config", {{"Image", "i"}, {"Labels", labels}}}});
  };
  running("plain", "Up 2 hours", json::object());
  running("saved", "Up 1 hour", {{"io.launcher.backup", "s3://ckpt/saved"}});
  bench.engine.answer_exec(
      backup_command("saved", "status --json"),
      {0, R"({"result":"failed","finished_at":"1970-01-01T00:00:01Z","message":"access denied"})", ""});
  REQUIRE(bench.run({"ps", "--json"}) == 0);
  json listed = json::parse(bench.out.str());
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["backup"].is_null());
  CHECK(listed[1]["backup"]["repository"] == "s3://ckpt/saved");
  CHECK(listed[1]["backup"]["last"] ==
        json{{"result", "failed"}, {"finished_at", "1970-01-01T00:00:01Z"}, {"message", "access denied"}});
  CHECK(contains(listed[1]["backup"]["summary"].get<std::string>(), " ago failed: access denied"));
  CHECK(bench.engine.asked_to("exec ").size() == 1); // one exec, for the env that backs up
  REQUIRE(bench.run({"ps"}) == 0);
  CHECK(contains(bench.out.str(), "  BACKUP\n"));
  CHECK(contains(bench.out.str(), "  -\n"));
}
