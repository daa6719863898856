// The orchestration of up, down and ps against a recording fake engine, replayed host facts and
// a test clock: which engine operations each situation asks for, and what the user is told.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/app.hpp"
#include "command_bench.hpp"
#include "core/atomic_file.hpp"
#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
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
  bench.engine.run_makes(Bench::container_of(hash, true));
  REQUIRE(bench.up() == 0);
  INFO(bench.err.str());
  CHECK(contains(bench.out.str(), env + " is ready (shell"));
  CHECK(bench.engine.asked_to("create_network ") ==
        std::vector<std::string>{"create_network launcher-" + env + " isolated"});
  // Made without looking first: `down` removed it, and each look is an engine CLI run.
  CHECK(bench.engine.asked_to("network_exists ").empty());
  auto runs = bench.engine.runs();
  REQUIRE(runs.size() == 1);
  CHECK(plan::plan_hash(runs[0]) == hash);
  CHECK(runs[0].image == image);
}

TEST_CASE("up when Docker has no address range left names the networks no environment uses", "[commands][up]") {
  Bench bench;
  bench.engine.network_creation_answers(
      {1, "",
       "Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the "
       "defaults to assign to the network\n"});
  bench.engine.add_container({{"Id", "c1"},
                              {"Name", "/kept"},
                              {"State", {{"Running", false}, {"Status", "exited"}}},
                              {"Config", {{"Image", "i"}, {"Labels", {{"io.launcher.env", "kept"}}}}}});
  for (const char* network : {"kept", "gone-1", "gone-2"})
    bench.engine.add_network(std::string("launcher-") + network, {{"io.launcher.env", network}});
  CHECK(bench.up() == 1);
  CHECK(bench.err.str() ==
        "launcher: error: failed to create network launcher-" + env +
            ": Docker has no address range left for another network (every range of its default-address-pools is "
            "taken); remove networks nothing uses, or give dockerd more ranges (default-address-pools in "
            "/etc/docker/daemon.json, then restart it); these launcher networks belong to no environment: `docker "
            "network rm launcher-gone-1 launcher-gone-2` removes them\n");
  CHECK(bench.engine.runs().empty());
}

// The replayed two-socket 8-GPU host, with no launcher container yet: GPU 1 has a process
// using 30 GB, so two GPUs chosen there are 0 and 2.
struct SharedGpuHost : Bench {
  facts::DirectoryFactSource host{{launcher::testing::fixture("gpu/8x-h100-two-socket")}};

  SharedGpuHost() {
    context.facts = &host;
    context.gpu_table = dir.path / "gpus.json";
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

  bench.engine.run_makes(Bench::container_of(rendered["plan_hash"], true, false, "0,2"));
  INFO(bench.err.str());
  REQUIRE(bench.run(with({"up", "--skip-checks"})) == 0);
  auto runs = bench.engine.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].gpus.kind == plan::GpuAssignment::Kind::devices);
  CHECK(runs[0].gpus.devices == std::vector<std::string>{"0", "2"});
  CHECK(plan::plan_hash(runs[0]) == rendered["plan_hash"].get<std::string>());
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
  CHECK(bench.engine.runs().empty());
  CHECK(bench.engine.asked_to("start ").empty());
  CHECK(bench.engine.asked_to("create_network ").empty());
  CHECK(contains(bench.out.str(), env + " is ready"));
}

TEST_CASE("up of an env that runs another plan is refused, naming --recreate", "[commands][up]") {
  Bench bench;
  bench.has_container("an-older-plan", true);
  CHECK(bench.up() == 1);
  CHECK(contains(bench.err.str(), "launcher: error: environment \"" + env + "\" runs a different plan:"));
  CHECK(contains(bench.err.str(), "`launcher up --recreate` replaces its container (volumes are kept)"));
  CHECK(bench.removed_no_container());
  CHECK(bench.engine.runs().empty());
}

TEST_CASE("up --recreate keeps a container that holds files outside its volumes", "[commands][up]") {
  Bench bench;
  bench.has_container("an-older-plan", true);
  bench.engine.answer_changed_files(env, "C /opt\nA /opt/notes.txt\n");
  bench.engine.answer_exec("exec " + env + " as (the image's user): cat", {1, "", "cat: no such file"});
  CHECK(bench.up({"--recreate"}) == 1);
  CHECK(contains(bench.err.str(), "/opt/notes.txt"));
  CHECK(bench.engine.asked_to("stop ").empty());
  CHECK(bench.removed_no_container());
}

TEST_CASE("up of a stopped env starts it, and one the OOM killer stopped is said to be", "[commands][up]") {
  Bench bench;
  std::string hash = bench.plan_hash();
  SECTION("stopped") {
    bench.has_container(hash, false);
    REQUIRE(bench.up() == 0);
    CHECK(bench.engine.asked_to("start ") == std::vector<std::string>{"start " + env});
    CHECK_FALSE(contains(bench.err.str(), "out of memory"));
  }
  SECTION("stopped by the OOM killer") {
    bench.has_container(hash, false, true);
    REQUIRE(bench.up() == 0);
    CHECK(contains(bench.err.str(), "launcher: environment \"" + env +
                                        "\" stopped after running out of memory: the kernel killed a "
                                        "process in it (limit 256m); starting it again"));
  }
}

TEST_CASE("up's wait for the service ends at its timeout on the test clock", "[commands][up][clock]") {
  Bench bench;
  // Jupyter on a port nothing listens on: never ready.
  json container{{"Id", "c0ffee"},
                 {"Name", "/" + env},
                 {"State", {{"Running", true}, {"Status", "running"}}},
                 {"Config", {{"Labels", {{"io.launcher.env", env}}}}},
                 {"NetworkSettings", {{"Ports", {{"8888/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "1"}}}}}}}}};
  bench.engine.run_makes(container);
  bench.engine.answer_logs(env, "jupyter log line\n");
  auto start = std::chrono::steady_clock::now();
  CHECK(bench.run({"up", "--profile", "jupyter", "--name", env, "--image", image, "--gpus", "none", "-p", "auto:8888",
                   "--timeout", "30", "--skip-checks"}) == 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  CHECK(contains(bench.err.str(), "timed out after 30 s waiting for jupyter in " + env));
  CHECK(contains(bench.err.str(), "jupyter log line"));
  // A failed start keeps the container for inspection.
  CHECK(bench.removed_no_container());
}

TEST_CASE("down removes a stopped env and its network, and refuses one with unsaved files", "[commands][down]") {
  Bench bench;
  bench.has_container("any", false);
  bench.engine.add_network("launcher-" + env, {{"io.launcher.env", env}});
  SECTION("nothing unsaved") {
    bench.engine.answer_changed_files(env, "");
    REQUIRE(bench.run({"down", env}) == 0);
    CHECK(bench.out.str() == "removed environment " + env + " (volumes kept)\n");
    CHECK(bench.engine.asked_to("stop ").empty()); // it was not running
    CHECK(bench.engine.asked_to("remove_network launcher-" + env).size() == 1);
  }
  SECTION("a file outside the volumes") {
    bench.engine.answer_changed_files(env, "A /root/train.log\n");
    CHECK(bench.run({"down", env}) == 1);
    CHECK(contains(bench.err.str(), "/root/train.log"));
    CHECK(bench.removed_no_container());
  }
}

TEST_CASE("down of an env with no container left removes its own labelled network, no other", "[commands][down]") {
  Bench bench;
  SECTION("labelled as this env's (left by a devcontainer)") {
    bench.engine.add_network("launcher-" + env, {{"io.launcher.env", env}});
    REQUIRE(bench.run({"down", env}) == 0);
    CHECK(bench.out.str() == "removed network launcher-" + env + " (no container of " + env + " was left)\n");
    CHECK(bench.engine.asked_to("remove_network ") == std::vector<std::string>{"remove_network launcher-" + env});
  }
  SECTION("a network of that name that is not the env's stays") {
    bench.engine.add_network("launcher-" + env);
    CHECK(bench.run({"down", env}) == 1);
    CHECK(bench.err.str() == "launcher: error: no environment \"" + env + "\" (`launcher ps` lists them)\n");
    CHECK(bench.engine.asked_to("remove_network ").empty());
  }
  SECTION("no network either") {
    CHECK(bench.run({"down", env}) == 1);
    CHECK(bench.engine.asked_to("remove_network ").empty());
  }
}

TEST_CASE("export makes no network of the env's own (the file or its start does), a shared one as up does",
          "[commands][export]") {
  for (const char* format : {"compose", "devcontainer"}) {
    Bench bench;
    INFO(format);
    REQUIRE(bench.run({"export", "--format", format, "--profile", "shell", "--gpus", "none", "--image", "unit/image:1",
                       "--name", env}) == 0);
    for (const char* network_operation :
         {"create_network", "network_exists", "remove_network", "networks_labelled", "network_label"})
      CHECK(bench.engine.asked_to(network_operation).empty());
  }
  Bench bench;
  bench.dir.write("project/launcher.json",
                  R"({"version": 1, "profiles": {"team": {"extends": "shell", "network": "team-net"}}})");
  REQUIRE(bench.run({"export", "--format", "devcontainer", "--profile", "team", "--gpus", "none", "--image",
                     "unit/image:1", "--name", env}) == 0);
  // Shared, so not isolated: its containers reach each other.
  CHECK(bench.engine.asked_to("create_network ") == std::vector<std::string>{"create_network team-net"});
  CHECK(bench.engine.networks().at("team-net") ==
        std::map<std::string, std::string>{{"io.launcher.network", "shared"}});
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
    bench.engine.set_compose_available(has_compose);
    REQUIRE(bench.run({"--engine", "podman", "export", "--format", "compose", "--lossy", "--profile", "shell", "--gpus",
                       "none", "--image", "unit/image:1", "--name", env}) == 0);
    CHECK(bench.engine.asked_to("compose_available").size() == 1);
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
    bench.engine.add_network("launcher-" + env, {{"io.launcher.env", env}});
    bench.engine.answer_changed_files(env, "");
    REQUIRE(bench.run({"down"}) == 0);
    CHECK(bench.out.str() == "removed environment " + env + " (volumes kept)\n");
  }
  SECTION("made in another directory, even one whose name renders alike") {
    bench.has_container("any", false, false, "none", (bench.dir.path / "project ").string());
    CHECK(bench.run({"down"}) == 2);
    CHECK(bench.err.str() ==
          "launcher: error: no environment was made from this directory; name one (`launcher ps` lists them)\n");
    CHECK(bench.removed_no_container());
  }
}

TEST_CASE("down --purge --yes deletes the launcher's files and lock, and keeps what it did not make",
          "[commands][down][purge]") {
  Bench bench;
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
  bench.engine.add_container(
      {{"Id", "1"},
       {"Name", "/gpu-env"},
       {"Status", "Up 2 hours"},
       {"State", {{"Running", true}, {"Status", "running"}}},
       {"Config",
        {{"Image", "i"},
         {"Labels",
          {{"io.launcher.env", "gpu-env"}, {"io.launcher.profile", "jupyter"}, {"io.launcher.gpus", "0"}}}}}});
  bench.engine.add_container(
      {{"Id", "2"},
       {"Name", "/hog"},
       {"Status", "Exited (137) 1 second ago"},
       {"State", {{"Running", false}, {"Status", "exited"}, {"OOMKilled", true}}},
       {"Config",
        {{"Image", "i"},
         {"Labels", {{"io.launcher.env", "hog"}, {"io.launcher.profile", "shell"}, {"io.launcher.gpus", "none"}}}}},
       {"HostConfig", {{"Memory", 268435456}}}});
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
  auto inspect = [&](const std::string& name, int exit_code, std::vector<std::string> env, bool oom = false) {
    env.push_back("PATH=/usr/bin");
    bench.engine.add_container(
        {{"Id", name},
         {"Name", "/" + name},
         {"Status", "Exited (80) 1 minute ago"},
         {"State", {{"Running", false}, {"Status", "exited"}, {"ExitCode", exit_code}, {"OOMKilled", oom}}},
         {"Config",
          {{"Image", "i"},
           {"Env", env},
           {"Labels",
            {{"io.launcher.env", name},
             {"io.launcher.profile", "p"},
             {"io.launcher.gpus", name == "lab" ? "0" : "none"}}}}}});
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
  json container = Bench::container_of("a-plan", false);
  container["Image"] = "sha256:base"; // the image it was made from
  bench.engine.add_container(container);
  bench.engine.add_image("sha256:base", {{"Id", "sha256:base"}});
  bench.engine.answer_changed_files(env, "C /opt\nA /opt/notes.txt\n");
  const std::string tag = "unit/image:1-snap";
  const std::string digest = "sha256:" + std::string(64, 'd');
  bench.engine.add_image(tag, {{"Id", "sha256:5a"}, {"RepoDigests", {"unit/image@" + digest}}});
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
  CHECK(bench.removed_no_container());

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

// Each signal raised when the launcher first asks the engine an operation its trigger starts, as a
// terminal's Ctrl-C would arrive; while one is pending, each operation ends as the engine's runner
// ends a CLI call (up installs the InterruptScope).
void raise_at(Bench& bench, std::map<std::string, int> signal_at) {
  auto raised = std::make_shared<std::set<std::string>>();
  bench.engine.on_asked([signal_at, raised](const std::string& asked) {
    for (const auto& [trigger, signal] : signal_at)
      if (asked.rfind(trigger, 0) == 0 && raised->insert(trigger).second) raise(signal);
    if (int pending = process::InterruptScope::pending())
      throw process::Interrupted(pending, "interrupted by " + process::signal_name(pending) + " during `docker`");
  });
}

} // namespace

TEST_CASE("a signal during up's first inspect removes the container and network this up made",
          "[commands][up][signal]") {
  int signal = GENERATE(SIGINT, SIGTERM, SIGHUP);
  Bench bench;
  bench.engine.run_makes(Bench::container_of("any", true));
  raise_at(bench, {{"inspect_container " + env, signal}});
  CHECK(bench.up({"--skip-checks"}) == 128 + signal);
  CHECK(bench.err.str() == "launcher: error: interrupted by " + process::signal_name(signal) +
                               "; removed the container " + env + " and the network launcher-" + env +
                               " this `up` made\n");
  CHECK(bench.engine.asked_to("remove_forced ") == std::vector<std::string>{"remove_forced " + env});
  CHECK(bench.engine.asked_to("remove_network ") == std::vector<std::string>{"remove_network launcher-" + env});
}

TEST_CASE("a second signal during up's clean-up ends it at once, saying what may remain", "[commands][up][signal]") {
  Bench bench;
  bench.engine.run_makes(Bench::container_of("any", true));
  // The clean-up's own inspect then its forced removal: the second signal arrives there.
  raise_at(bench, {{"inspect_container " + env, SIGINT}, {"remove_forced ", SIGTERM}});
  CHECK(bench.up({"--skip-checks"}) == 143);
  CHECK(bench.err.str() == "launcher: error: interrupted by SIGINT, then by SIGTERM during the clean-up: the container "
                           "and network this `up` made may remain (`launcher down " +
                               env + " --force` removes them)\n");
  CHECK(bench.engine.asked_to("remove_network ").empty());
}

TEST_CASE("a signal during up of an env that existed before leaves its container alone", "[commands][up][signal]") {
  Bench bench;
  bench.has_container(bench.plan_hash(), true);
  raise_at(bench, {{"inspect_container " + env, SIGHUP}});
  CHECK(bench.up({"--skip-checks"}) == 129);
  CHECK(bench.err.str() == "launcher: error: interrupted by SIGHUP; environment \"" + env +
                               "\" existed before this `up` and is left as it was\n");
  CHECK(bench.removed_no_container());
  CHECK(bench.engine.asked_to("stop ").empty());
  CHECK(bench.engine.asked_to("remove_network ").empty());
}

TEST_CASE("up's clean-up never removes a container of the env's name that is not the env's", "[commands][up][signal]") {
  Bench bench;
  // Someone's own container holds the name: the engine refuses to run another of it.
  bench.engine.run_fails("docker: Error response from daemon: Conflict. The container name \"/" + env +
                         "\" is already in use");
  bench.engine.add_container(
      {{"Id", "beef"}, {"Name", "/" + env}, {"State", {{"Running", true}}}, {"Config", {{"Labels", json::object()}}}});
  bench.engine.add_image(image, json::object());
  CHECK(bench.up({"--skip-checks"}) == 1);
  CHECK(contains(bench.err.str(), "is already in use"));
  CHECK(bench.removed_no_container());
}

TEST_CASE("ps shows the engine's control characters escaped", "[commands][ps]") {
  Bench bench;
  bench.engine.add_container(
      {{"Id", "1"},
       {"Name", "/x"},
       {"Status", "Up\u001b]0;t\u0007"},
       {"State", {{"Running", true}, {"Status", "running"}}},
       {"Config",
        {{"Image", "i\u001b[2J"},
         {"Labels", {{"io.launcher.env", "x\u009b1m"}, {"io.launcher.profile", "p"}, {"io.launcher.gpus", ""}}}}}});
  REQUIRE(bench.run({"ps"}) == 0);
  std::string out = bench.out.str();
  for (unsigned char c : out)
    CHECK((c >= 0x20 || c == '\n'));
  CHECK(contains(out, "i\\x1b[2J"));
  CHECK(contains(out, "Up\\x1b]0;t\\x07"));
  CHECK(contains(out, "x\\u009b1m"));
}
