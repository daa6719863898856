// The orchestration of up, down and ps against a recording fake Docker, replayed host facts and
// a test clock: which Docker calls each situation makes, and what the user is told.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/app.hpp"
#include "command_bench.hpp"
#include "core/atomic_file.hpp"
#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "fake_docker.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::FakeClock;
using launcher::testing::FakeDocker;
using launcher::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

using launcher::testing::Bench;
using launcher::testing::contains;
using launcher::testing::env;
using launcher::testing::image;

TEST_CASE("up of a new env makes its network, runs the plan render shows, and reports it ready", "[commands][up]") {
  Bench bench;
  std::string hash = bench.plan_hash();
  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "", 1, "Error: No such network");
  bench.docker.on({"network", "create"}, "n1\n");
  bench.docker.on({"run", "-d"}, "c0ffee\n");
  bench.has_container(hash, true);
  REQUIRE(bench.up() == 0);
  INFO(bench.err.str());
  CHECK(contains(bench.out.str(), env + " is ready (shell"));
  auto created = bench.docker.calls_to({"network", "create"});
  REQUIRE(created.size() == 1);
  CHECK(created[0].back() == "launcher-" + env);
  // Made without looking first: `down` removed it, and each look is a Docker CLI run.
  CHECK(bench.docker.calls_to({"network", "inspect"}).empty());
  auto runs = bench.docker.calls_to({"run", "-d"});
  REQUIRE(runs.size() == 1);
  CHECK(std::find(runs[0].begin(), runs[0].end(), "io.launcher.plan-hash=" + hash) != runs[0].end());
  CHECK(runs[0].back() == image);
}

TEST_CASE("up when Docker has no address range left names the networks no environment uses", "[commands][up]") {
  Bench bench;
  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "", 1, "Error: No such network");
  bench.docker.on({"network", "create"}, "", 1,
                  "Error response from daemon: could not find an available, non-overlapping IPv4 address pool among "
                  "the defaults to assign to the network\n");
  bench.docker.on({"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env"},
                  R"x({"id":"c1","name":"kept","image":"i","state":"exited","status":"Exited (0)","ports":"",)x"
                  R"("labels":{"io.launcher.env":"kept"}})"
                  "\n");
  bench.docker.on({"network", "ls", "--filter", "label=io.launcher.env"},
                  "launcher-kept\nlauncher-gone-1\nlauncher-gone-2\n");
  CHECK(bench.up() == 1);
  CHECK(bench.err.str() ==
        "launcher: error: failed to create network launcher-" + env +
            ": Docker has no address range left for another network (every range of its default-address-pools is "
            "taken); remove networks nothing uses, or give dockerd more ranges (default-address-pools in "
            "/etc/docker/daemon.json, then restart it); these launcher networks belong to no environment: `docker "
            "network rm launcher-gone-1 launcher-gone-2` removes them\n");
  CHECK(bench.docker.calls_to({"run"}).empty());
}

// The replayed two-socket 8-GPU host, with no launcher container yet: GPU 1 has a process
// using 30 GB, so two GPUs chosen there are 0 and 2.
struct SharedGpuHost : Bench {
  facts::DirectoryFactSource host{{launcher::testing::fixture("gpu/8x-h100-two-socket")}};

  SharedGpuHost() {
    context.facts = &host;
    context.gpu_table = dir.path / "gpus.json";
    docker.on({"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env"}, "");
  }
};

TEST_CASE("{\"count\": 2} on a shared 8-GPU host: render, up --dry-run and up take the same GPUs and hash",
          "[commands][up][gpus]") {
  SharedGpuHost bench;
  write_file_atomically(bench.dir.path / "project" / "launcher.json",
                        R"({"version": 1, "profiles": {"train": {"extends": "shell", "gpus": {"count": 2}}}})", 0644);
  const std::vector<std::string> request{"--profile", "train", "--name", env, "--image", image};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), request.begin(), request.end());
    return args;
  };

  int rendered_exit = bench.run(with({"render", "--json"}));
  INFO(bench.err.str());
  REQUIRE(rendered_exit == 0);
  json rendered = json::parse(bench.out.str());
  REQUIRE(bench.run(with({"up", "--dry-run", "--json"})) == 0);
  json previewed = json::parse(bench.out.str());
  CHECK(rendered["plan"]["gpus"] == json::array({"0", "2"}));
  CHECK(previewed["plan"]["gpus"] == rendered["plan"]["gpus"]);
  CHECK(previewed["plan_hash"] == rendered["plan_hash"]);
  // Previews reserve nothing (they read the table under its lock, which may create it empty).
  CHECK_FALSE(contains(read_file_if_present(bench.context.gpu_table).value_or(""), env));

  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "", 1, "Error: No such network");
  bench.docker.on({"network", "create"}, "n1\n");
  bench.docker.on({"run", "-d"}, "c0ffee\n");
  bench.has_container(rendered["plan_hash"], true, false, "0,2");
  INFO(bench.err.str());
  REQUIRE(bench.run(with({"up", "--skip-checks"})) == 0);
  auto runs = bench.docker.calls_to({"run", "-d"});
  REQUIRE(runs.size() == 1);
  const auto& argv = runs[0];
  CHECK(std::find(argv.begin(), argv.end(), "\"device=0,2\"") != argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "io.launcher.plan-hash=" + rendered["plan_hash"].get<std::string>()) !=
        argv.end());
  // The choice is recorded for the next `up` on this host, under the env's name.
  CHECK(contains(read_file(bench.context.gpu_table), env));
}

TEST_CASE("the flag --gpus '{\"count\": 2}' chooses on the host as the profile key does, and is blamed as the flag",
          "[commands][render][gpus]") {
  SharedGpuHost bench;
  int exit_code = bench.run(
      {"render", "--json", "--profile", "shell", "--name", env, "--image", image, "--gpus", R"({"count": 2})"});
  INFO(bench.err.str());
  REQUIRE(exit_code == 0);
  json rendered = json::parse(bench.out.str());
  CHECK(rendered["plan"]["gpus"] == json::array({"0", "2"}));
  CHECK(rendered["origins"]["/gpus"] == R"(command line (--gpus {"count": 2}))");
}

TEST_CASE("up of an env that runs the same plan starts nothing", "[commands][up]") {
  Bench bench;
  bench.has_container(bench.plan_hash(), true);
  REQUIRE(bench.up() == 0);
  CHECK(bench.docker.calls_to({"run"}).empty());
  CHECK(bench.docker.calls_to({"start"}).empty());
  CHECK(bench.docker.calls_to({"network", "create"}).empty());
  CHECK(contains(bench.out.str(), env + " is ready"));
}

TEST_CASE("up of an env that runs another plan is refused, naming --recreate", "[commands][up]") {
  Bench bench;
  bench.has_container("an-older-plan", true);
  CHECK(bench.up() == 1);
  CHECK(contains(bench.err.str(), "launcher: error: environment \"" + env + "\" runs a different plan:"));
  CHECK(contains(bench.err.str(), "`launcher up --recreate` replaces its container (volumes are kept)"));
  CHECK(bench.docker.calls_to({"rm"}).empty());
  CHECK(bench.docker.calls_to({"run"}).empty());
}

TEST_CASE("up --recreate keeps a container that holds files outside its volumes", "[commands][up]") {
  Bench bench;
  bench.has_container("an-older-plan", true);
  bench.docker.on({"diff", env}, "C /opt\nA /opt/notes.txt\n");
  bench.docker.on({"exec", env, "cat"}, "", 1, "cat: no such file");
  CHECK(bench.up({"--recreate"}) == 1);
  CHECK(contains(bench.err.str(), "/opt/notes.txt"));
  CHECK(bench.docker.calls_to({"stop"}).empty());
  CHECK(bench.docker.calls_to({"rm"}).empty());
}

TEST_CASE("up of a stopped env starts it, and one the OOM killer stopped is said to be", "[commands][up]") {
  Bench bench;
  std::string hash = bench.plan_hash();
  SECTION("stopped") {
    bench.has_container(hash, false);
    bench.docker.on({"start", env}, env + "\n");
    REQUIRE(bench.up() == 0);
    CHECK(bench.docker.calls_to({"start", env}).size() == 1);
    CHECK_FALSE(contains(bench.err.str(), "out of memory"));
  }
  SECTION("stopped by the OOM killer") {
    bench.has_container(hash, false, true);
    bench.docker.on({"start", env}, env + "\n");
    REQUIRE(bench.up() == 0);
    CHECK(contains(bench.err.str(), "launcher: environment \"" + env +
                                        "\" stopped after running out of memory: the kernel killed a "
                                        "process in it (limit 256m); starting it again"));
  }
}

TEST_CASE("up's wait for the service ends at its timeout on the test clock", "[commands][up][clock]") {
  Bench bench;
  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "launcher-" + env + "\n");
  bench.docker.on({"run", "-d"}, "c0ffee\n");
  // Jupyter on a port nothing listens on: never ready.
  json container{{"Id", "c0ffee"},
                 {"Name", "/" + env},
                 {"State", {{"Running", true}, {"Status", "running"}}},
                 {"Config", {{"Labels", {{"io.launcher.env", env}}}}},
                 {"NetworkSettings", {{"Ports", {{"8888/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "1"}}}}}}}}};
  bench.docker.on({"container", "inspect", env}, json::array({container}).dump());
  bench.docker.on({"logs", "--tail"}, "jupyter log line\n");
  auto start = std::chrono::steady_clock::now();
  CHECK(bench.run({"up", "--profile", "jupyter", "--name", env, "--image", image, "--gpus", "none", "-p", "auto:8888",
                   "--timeout", "30", "--skip-checks"}) == 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  CHECK(contains(bench.err.str(), "timed out after 30 s waiting for jupyter in " + env));
  CHECK(contains(bench.err.str(), "jupyter log line"));
  // A failed start keeps the container for inspection.
  CHECK(bench.docker.calls_to({"rm"}).empty());
}

TEST_CASE("down removes a stopped env and its network, and refuses one with unsaved files", "[commands][down]") {
  Bench bench;
  bench.has_container("any", false);
  SECTION("nothing unsaved") {
    bench.docker.on({"diff", env}, "");
    bench.docker.on({"rm", env}, env + "\n");
    bench.docker.on({"network", "rm"}, "");
    REQUIRE(bench.run({"down", env}) == 0);
    CHECK(bench.out.str() == "removed environment " + env + " (volumes kept)\n");
    CHECK(bench.docker.calls_to({"stop"}).empty()); // it was not running
    CHECK(bench.docker.calls_to({"network", "rm", "launcher-" + env}).size() == 1);
  }
  SECTION("a file outside the volumes") {
    bench.docker.on({"diff", env}, "A /root/train.log\n");
    CHECK(bench.run({"down", env}) == 1);
    CHECK(contains(bench.err.str(), "/root/train.log"));
    CHECK(bench.docker.calls_to({"rm"}).empty());
  }
}

TEST_CASE("down of an env with no container left removes its own labelled network, no other", "[commands][down]") {
  Bench bench;
  bench.has_no_container();
  const std::vector<std::string> inspect{"network", "inspect", "--format", "{{index .Labels \"io.launcher.env\"}}",
                                         "launcher-" + env};
  SECTION("labelled as this env's (left by a devcontainer)") {
    bench.docker.on(inspect, env + "\n");
    bench.docker.on({"network", "rm", "launcher-" + env}, "launcher-" + env + "\n");
    REQUIRE(bench.run({"down", env}) == 0);
    CHECK(bench.out.str() == "removed network launcher-" + env + " (no container of " + env + " was left)\n");
    CHECK(bench.docker.calls_to({"network", "rm", "launcher-" + env}).size() == 1);
  }
  SECTION("a network of that name that is not the env's stays") {
    bench.docker.on(inspect, "\n");
    CHECK(bench.run({"down", env}) == 1);
    CHECK(bench.err.str() == "launcher: error: no environment \"" + env + "\" (`launcher ps` lists them)\n");
    CHECK(bench.docker.calls_to({"network", "rm"}).empty());
  }
  SECTION("no network either") {
    CHECK(bench.run({"down", env}) == 1);
    CHECK(bench.docker.calls_to({"network", "rm"}).empty());
  }
}

TEST_CASE("export makes no network of the env's own (the file or its start does), a shared one as up does",
          "[commands][export]") {
  for (const char* format : {"compose", "devcontainer"}) {
    Bench bench;
    INFO(format);
    REQUIRE(bench.run({"export", "--format", format, "--profile", "shell", "--gpus", "none", "--image", "unit/image:1",
                       "--name", env}) == 0);
    CHECK(bench.docker.calls_to({"network"}).empty());
  }
  Bench bench;
  bench.dir.write("project/launcher.json",
                  R"({"version": 1, "profiles": {"team": {"extends": "shell", "network": "team-net"}}})");
  bench.docker.on({"network", "inspect"}, "", 1);
  bench.docker.on({"network", "create"}, "team-net\n");
  REQUIRE(bench.run({"export", "--format", "devcontainer", "--profile", "team", "--gpus", "none", "--image",
                     "unit/image:1", "--name", env}) == 0);
  CHECK(bench.docker
            .calls_to({"network", "create", "--driver", "bridge", "--label", "io.launcher.network=shared", "team-net"})
            .size() == 1);
}

TEST_CASE("export --format compose asks the engine's version: a start interval from Engine 25 on, none otherwise",
          "[commands][export][health]") {
  auto exported = [](const char* engine_fixture) {
    Bench bench;
    facts::DirectoryFactSource engine{{launcher::testing::fixture(std::string("docker/") + engine_fixture)}};
    bench.context.facts = &engine;
    REQUIRE(bench.run({"export", "--format", "compose", "--profile", "shell", "--gpus", "none", "--image",
                       "unit/image:1", "--name", env}) == 0);
    return bench.out.str();
  };
  CHECK(exported("engine-28.2-nvidia-toolkit").find("start_interval: \"500ms\"") != std::string::npos);
  CHECK(exported("engine-20.10-no-toolkit").find("healthcheck") == std::string::npos);
  CHECK(exported("daemon-down").find("healthcheck") == std::string::npos);
}

TEST_CASE("export --format compose under Podman needs --lossy and says when `podman compose` does not answer",
          "[commands][export][podman]") {
  auto export_err = [](bool has_compose) {
    Bench bench;
    if (has_compose) bench.docker.on({"compose", "version"}, "podman-compose version 1.0.6\n");
    REQUIRE(bench.run({"--engine", "podman", "export", "--format", "compose", "--lossy", "--profile", "shell", "--gpus",
                       "none", "--image", "unit/image:1", "--name", env}) == 0);
    CHECK(bench.docker.calls_to({"compose", "version"}).size() == 1);
    CHECK(bench.out.str().find("isolate: \"true\"") != std::string::npos);
    CHECK(bench.out.str().find("userns_mode: keep-id\n") != std::string::npos);
    CHECK(bench.err.str().find("launcher: warning: left out of the export: the engine's --passwd=false (--lossy)\n") !=
          std::string::npos);
    return bench.err.str();
  };
  CHECK(export_err(false).find("launcher: note: `podman compose` does not answer on this host: Podman 4.7 or later "
                               "with docker-compose or podman-compose installed runs the file\n") != std::string::npos);
  CHECK(export_err(true).find("podman compose") == std::string::npos);
  // Without --lossy the file is refused before anything is made: Compose cannot say --passwd=false.
  Bench bench;
  CHECK(bench.run({"--engine", "podman", "export", "--format", "compose", "--profile", "shell", "--gpus", "none",
                   "--image", "unit/image:1", "--name", env}) == 2);
  CHECK(bench.err.str() ==
        "launcher: error: compose cannot express the engine's --passwd=false; --lossy exports without it\n");
  CHECK(bench.out.str().empty());
}

TEST_CASE("down without ENV acts only on the env labelled with this directory", "[commands][down][env-name]") {
  Bench bench;
  fs::path project = fs::canonical(bench.dir.path / "project");
  SECTION("made here") {
    bench.has_container("any", false, false, "none", project.string());
    bench.docker.on({"diff", env}, "");
    bench.docker.on({"rm", env}, env + "\n");
    bench.docker.on({"network", "rm"}, "");
    REQUIRE(bench.run({"down"}) == 0);
    CHECK(bench.out.str() == "removed environment " + env + " (volumes kept)\n");
  }
  SECTION("made in another directory, even one whose name renders alike") {
    bench.has_container("any", false, false, "none", (bench.dir.path / "project ").string());
    CHECK(bench.run({"down"}) == 2);
    CHECK(bench.err.str() ==
          "launcher: error: no environment was made from this directory; name one (`launcher ps` lists them)\n");
    CHECK(bench.docker.calls_to({"rm"}).empty());
  }
}

TEST_CASE("down --purge --yes deletes the launcher's files and lock, and keeps what it did not make",
          "[commands][down][purge]") {
  Bench bench;
  bench.has_no_container();
  fs::path envs = bench.dir.path / "state/launcher/envs";
  fs::path env_dir = envs / env;
  fs::create_directories(env_dir / "secrets");
  for (const char* file : {"secrets/jupyter_token", "secrets/ssh_host_ed25519_key", "secrets/authorized_keys",
                           "user_password", "known_hosts", "plan.json"})
    std::ofstream(env_dir / file) << "old\n";
  std::ofstream(env_dir / "secrets/notes.txt") << "mine\n";
  fs::create_directories(bench.dir.path / "outside");
  fs::create_directory_symlink(bench.dir.path / "outside", env_dir / "linked");

  REQUIRE(bench.run({"down", "--purge", "--yes", env}) == 0);
  CHECK(bench.out.str() == "deleted the launcher's files in " + env_dir.string() + "\n");
  CHECK(bench.err.str() == "launcher: warning: kept what the launcher did not make: " + (env_dir / "secrets").string() +
                               " (notes.txt); " + env_dir.string() + " (linked, secrets)\n");
  CHECK(fs::exists(env_dir / "secrets/notes.txt"));
  CHECK_FALSE(fs::exists(env_dir / "secrets/jupyter_token"));
  CHECK_FALSE(fs::exists(env_dir / "known_hosts"));
  CHECK(fs::is_directory(bench.dir.path / "outside"));
  CHECK_FALSE(fs::exists(envs / ("." + env + ".lock")));

  fs::remove(env_dir / "secrets/notes.txt");
  fs::remove(env_dir / "linked");
  REQUIRE(bench.run({"down", "--purge", "--yes", env}) == 0);
  CHECK(bench.out.str() == "deleted " + env_dir.string() + "\n");
  CHECK_FALSE(fs::exists(env_dir));
  CHECK(fs::is_directory(envs));
}

TEST_CASE("ps marks a running env whose GPUs are lost, and a stopped one the OOM killer ended", "[commands][ps]") {
  Bench bench;
  std::string listing =
      docker::listing_format({"io.launcher.env", "io.launcher.profile", "io.launcher.gpus", "io.launcher.backup"});
  bench.docker.on(
      {"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format", listing},
      R"({"id":"1","name":"gpu-env","image":"i","state":"running","status":"Up 2 hours","ports":"",)"
      R"("labels":{"io.launcher.env":"gpu-env","io.launcher.profile":"jupyter","io.launcher.gpus":"0"}})"
      "\n"
      R"({"id":"2","name":"hog","image":"i","state":"exited","status":"Exited (137) 1 second ago","ports":"",)"
      R"("labels":{"io.launcher.env":"hog","io.launcher.profile":"shell","io.launcher.gpus":"none"}})"
      "\n");
  json hog{
      {"Name", "/hog"}, {"State", {{"Running", false}, {"OOMKilled", true}}}, {"HostConfig", {{"Memory", 268435456}}}};
  bench.docker.on({"container", "inspect", "hog"}, json::array({hog}).dump());
  bench.facts.answers["docker-exec-nvidia-smi-L.txt"] = {true, 255, "Failed to initialize NVML: Unknown Error\n", ""};
  REQUIRE(bench.run({"ps", "--json"}) == 0);
  json listed = json::parse(bench.out.str());
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["status"] == "Up 2 hours, lost its GPUs: launcher up --recreate");
  CHECK(listed[1]["status"] ==
        "Exited (137) 1 second ago, out of memory: the kernel killed a process in it (limit 256m); raise "
        "resources.memory, then launcher up --recreate");
}

TEST_CASE("ps says why a stopped env stopped: idle, max_age, out of memory, its exit status", "[commands][ps]") {
  Bench bench;
  std::string listing =
      docker::listing_format({"io.launcher.env", "io.launcher.profile", "io.launcher.gpus", "io.launcher.backup"});
  auto listed_line = [](const std::string& name, const std::string& gpus) {
    return json{{"id", name},
                {"name", name},
                {"image", "i"},
                {"state", "exited"},
                {"status", "Exited (80) 1 minute ago"},
                {"ports", ""},
                {"labels", {{"io.launcher.env", name}, {"io.launcher.profile", "p"}, {"io.launcher.gpus", gpus}}}}
               .dump() +
           "\n";
  };
  bench.docker.on({"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format", listing},
                  listed_line("lab", "0") + listed_line("remote", "none") + listed_line("aged", "none") +
                      listed_line("hog", "none") + listed_line("failed", "none") + listed_line("older", "none"));
  auto inspect = [&](const std::string& name, int exit_code, std::vector<std::string> env, bool oom = false) {
    env.push_back("PATH=/usr/bin");
    json container{{"Name", "/" + name},
                   {"State", {{"Running", false}, {"ExitCode", exit_code}, {"OOMKilled", oom}}},
                   {"Config", {{"Env", env}, {"Labels", {{"io.launcher.gpus", name == "lab" ? "0" : "none"}}}}}};
    bench.docker.on({"container", "inspect", name}, json::array({container}).dump());
  };
  inspect("lab", 80,
          {"LAUNCHER_SERVICE=jupyter,ssh", "LAUNCHER_IDLE_STOP_AFTER=7200", "LAUNCHER_IDLE_GPU_UTIL_BELOW=5"});
  inspect("remote", 80, {"LAUNCHER_SERVICE=ssh", "LAUNCHER_IDLE_STOP_AFTER=20", "LAUNCHER_IDLE_GPU_UTIL_BELOW=10"});
  inspect("aged", 81, {"LAUNCHER_SERVICE=command", "LAUNCHER_MAX_AGE=259200"});
  inspect("hog", 137, {"LAUNCHER_SERVICE=shell"}, true);
  inspect("failed", 1, {"LAUNCHER_SERVICE=command"});
  inspect("older", 80, {"LAUNCHER_SERVICE=command"}); // a command's own 80, no idle setting: its exit status
  REQUIRE(bench.run({"ps", "--json"}) == 0);
  json listed = json::parse(bench.out.str());
  REQUIRE(listed.size() == 6);
  CHECK(listed[0]["status"] == "stopped: idle 2h (no kernel busy, no ssh session, GPU 0 util < 5%)");
  CHECK(listed[0]["stop_reason"] == "idle 2h (no kernel busy, no ssh session, GPU 0 util < 5%)");
  CHECK(listed[1]["status"] == "stopped: idle 20s (no ssh session)");
  CHECK(listed[2]["status"] == "stopped: max_age 3d");
  CHECK(listed[3]["stop_reason"] == "out of memory");
  CHECK(contains(listed[3]["status"].get<std::string>(), "out of memory: the kernel killed a process in it"));
  CHECK(listed[4]["status"] == "Exited (80) 1 minute ago");
  CHECK(listed[4]["stop_reason"] == "exited 1");
  CHECK(listed[5]["stop_reason"] == "exited 80");

  bench.out.str("");
  REQUIRE(bench.run({"ps"}) == 0);
  CHECK(contains(bench.out.str(), "stopped: max_age 3d"));
}

TEST_CASE("after snapshot, down names the snapshot that holds the work, and the hint's pin command works",
          "[commands][snapshot][down]") {
  Bench bench;
  bench.has_container("a-plan", false);
  bench.docker.on({"diff", env}, "C /opt\nA /opt/notes.txt\n");
  bench.docker.on({"commit"}, "sha256:5a\n");
  const std::string tag = "unit/image:1-snap";
  const std::string digest = "sha256:" + std::string(64, 'd');
  bench.docker.on({"image", "inspect", tag},
                  json::array({{{"Id", "sha256:5a"}, {"RepoDigests", {"unit/image@" + digest}}}}).dump());
  bench.docker.on({"image", "inspect"}, json::array({{{"Id", "sha256:base"}}}).dump()); // the env's image
  bench.docker.on({"create"}, "scratch\n");
  bench.docker.on({"container", "rm"}, "");
  int code = bench.run({"snapshot", env, "--tag", tag});
  INFO(bench.err.str());
  REQUIRE(code == 0);
  // A stopped container cannot list its packages: the snapshot keeps the image's record, and says so.
  CHECK(contains(bench.err.str(), "launcher: warning: the snapshot keeps /usr/local/share/launcher/packages.json of "
                                  "its image (the environment is stopped)"));
  std::string hints = bench.out.str();
  CHECK(contains(hints, "  pin it:   set \"image\": \"" + tag +
                            "\" for profile \"shell\" in launcher.json, then launcher pin --profile shell\n"));

  CHECK(bench.run({"down", env}) == 1);
  CHECK(contains(bench.err.str(), "\n  files (1):\n    /opt/notes.txt\nsnapshot " + tag + " (taken "));
  CHECK(contains(bench.err.str(), ") holds all of it as it was then\n"));
  CHECK(bench.docker.calls_to({"rm"}).empty());

  // The pin line, followed: the tag goes into the team file's profile, then the command as printed.
  write_file_atomically(bench.dir.path / "project" / "launcher.json",
                        json{{"version", 1}, {"profiles", {{"shell", {{"image", tag}, {"gpus", "none"}}}}}}.dump(),
                        0644);
  std::string command = hints.substr(hints.find("then launcher ") + 14);
  command = command.substr(0, command.find('\n'));
  std::vector<std::string> args;
  for (std::size_t start = 0; start <= command.size();) {
    std::size_t end = std::min(command.find(' ', start), command.size());
    args.push_back(command.substr(start, end - start));
    start = end + 1;
  }
  CHECK(args == std::vector<std::string>{"pin", "--profile", "shell"});
  REQUIRE(bench.run(args) == 0);
  CHECK(json::parse(read_file(bench.dir.path / "project" / "launcher.json"))["profiles"]["shell"]["image"] ==
        tag + "@" + digest);
}

namespace {

// The fake Docker, with `signal` raised when `trigger` is first called, as a terminal's Ctrl-C
// would arrive; the call then ends as run_process ends one (up installs the InterruptScope).
docker::CliRunner raising_on(const FakeDocker& fake, std::vector<std::string> trigger, int signal,
                             std::shared_ptr<int> raised = std::make_shared<int>(0)) {
  return [inner = fake.runner(), trigger, signal, raised](const std::vector<std::string>& argv,
                                                          const process::ProcessOptions& options) {
    std::vector<std::string> call(argv.begin() + 1, argv.end());
    bool matches = call.size() >= trigger.size() && std::equal(trigger.begin(), trigger.end(), call.begin());
    if (matches && (*raised)++ == 0) raise(signal);
    if (int pending = process::InterruptScope::pending()) {
      inner(argv, options); // recorded: the call was started
      throw process::Interrupted(pending, "interrupted by " + process::signal_name(pending) + " during `docker`");
    }
    return inner(argv, options);
  };
}

// A new env whose `docker run` succeeds: network, container and the inspect up asks for.
void new_env_runs(Bench& bench) {
  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "", 1, "Error: No such network");
  bench.docker.on({"network", "create"}, "n1\n");
  bench.docker.on({"network", "rm"}, "");
  bench.docker.on({"run", "-d"}, "c0ffee\n");
  bench.docker.on({"rm", "-f", env}, env + "\n");
  bench.has_container("any", true);
}

} // namespace

TEST_CASE("a signal during up's first inspect removes the container and network this up made",
          "[commands][up][signal]") {
  int signal = GENERATE(SIGINT, SIGTERM, SIGHUP);
  Bench bench;
  new_env_runs(bench);
  bench.context.docker_runner = raising_on(bench.docker, {"container", "inspect", env}, signal);
  CHECK(bench.up({"--skip-checks"}) == 128 + signal);
  CHECK(bench.err.str() == "launcher: error: interrupted by " + process::signal_name(signal) +
                               "; removed the container " + env + " and the network launcher-" + env +
                               " this `up` made\n");
  CHECK(bench.docker.calls_to({"rm", "-f", env}).size() == 1);
  CHECK(bench.docker.calls_to({"network", "rm", "launcher-" + env}).size() == 1);
}

TEST_CASE("a second signal during up's clean-up ends it at once, saying what may remain", "[commands][up][signal]") {
  Bench bench;
  new_env_runs(bench);
  auto first = raising_on(bench.docker, {"container", "inspect", env}, SIGINT);
  auto raised = std::make_shared<int>(0);
  // The clean-up's own inspect then `rm -f`: the second signal arrives there.
  bench.context.docker_runner = [first, second = raising_on(bench.docker, {"rm", "-f"}, SIGTERM, raised)](
                                    const std::vector<std::string>& argv, const process::ProcessOptions& options) {
    return argv[1] == "rm" ? second(argv, options) : first(argv, options);
  };
  CHECK(bench.up({"--skip-checks"}) == 143);
  CHECK(bench.err.str() == "launcher: error: interrupted by SIGINT, then by SIGTERM during the clean-up: the container "
                           "and network this `up` made may remain (`launcher down " +
                               env + " --force` removes them)\n");
  CHECK(bench.docker.calls_to({"network", "rm"}).empty());
}

TEST_CASE("a signal during up of an env that existed before leaves its container alone", "[commands][up][signal]") {
  Bench bench;
  bench.has_container(bench.plan_hash(), true);
  bench.context.docker_runner = raising_on(bench.docker, {"container", "inspect", env}, SIGHUP);
  CHECK(bench.up({"--skip-checks"}) == 129);
  CHECK(bench.err.str() == "launcher: error: interrupted by SIGHUP; environment \"" + env +
                               "\" existed before this `up` and is left as it was\n");
  CHECK(bench.docker.calls_to({"rm"}).empty());
  CHECK(bench.docker.calls_to({"stop"}).empty());
  CHECK(bench.docker.calls_to({"network", "rm"}).empty());
}

TEST_CASE("up's clean-up never removes a container of the env's name that is not the env's", "[commands][up][signal]") {
  Bench bench;
  bench.has_no_container();
  bench.docker.on({"network", "inspect"}, "", 1, "Error: No such network");
  bench.docker.on({"network", "create"}, "n1\n");
  bench.docker.on({"network", "rm"}, "");
  // Someone's own container holds the name: `docker run` fails on it.
  bench.docker.on({"run", "-d"}, "", 125,
                  "docker: Error response from daemon: Conflict. The container name \"/" + env +
                      "\" is already in use");
  json theirs{
      {"Id", "beef"}, {"Name", "/" + env}, {"State", {{"Running", true}}}, {"Config", {{"Labels", json::object()}}}};
  bench.docker.on({"container", "inspect", env}, json::array({theirs}).dump());
  bench.docker.on({"image", "inspect"}, "[{}]");
  CHECK(bench.up({"--skip-checks"}) == 1);
  CHECK(contains(bench.err.str(), "is already in use"));
  CHECK(bench.docker.calls_to({"rm"}).empty());
}

TEST_CASE("ps shows the engine's control characters escaped", "[commands][ps]") {
  Bench bench;
  std::string listing =
      docker::listing_format({"io.launcher.env", "io.launcher.profile", "io.launcher.gpus", "io.launcher.backup"});
  bench.docker.on(
      {"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format", listing},
      R"({"id":"1","name":"x","image":"i\u001b[2J","state":"running","status":"Up\u001b]0;t\u0007",)"
      R"("ports":"","labels":{"io.launcher.env":"x\u009b1m","io.launcher.profile":"p","io.launcher.gpus":""}})"
      "\n");
  REQUIRE(bench.run({"ps"}) == 0);
  std::string out = bench.out.str();
  for (unsigned char c : out)
    CHECK((c >= 0x20 || c == '\n'));
  CHECK(contains(out, "i\\x1b[2J"));
  CHECK(contains(out, "Up\\x1b]0;t\\x07"));
  CHECK(contains(out, "x\\u009b1m"));
}
