#pragma once
// The launcher run in this process against a recording fake engine, replayed host facts and a
// test clock: the bench of the commands' unit tests (cli_bench.hpp: the engines' own, against a
// fake of their CLI).
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/app.hpp"
#include "fake_clock.hpp"
#include "fake_engine.hpp"
#include "temp_dir.hpp"

namespace launcher::testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline const std::string env = "unit-env";
inline const std::string image = "unit/image:1";

// The launcher run in this process, in a project directory of its own with its own home and
// state; what it asks of the engine is the bench's that derives from it.
struct BenchBase {
  TempDir dir;
  FakeClock clock;
  facts::MemoryFactSource facts;
  std::ostringstream out, err;
  commands::Context context;

  BenchBase() {
    fs::create_directories(dir.path / "project");
    context.out = &out;
    context.err = &err;
    context.facts = &facts;
    context.clock = &clock;
  }

  int run(std::vector<std::string> args) {
    fs::path previous = fs::current_path();
    fs::current_path(dir.path / "project");
    // The variables are put back afterwards: a later test must not see a HOME that is deleted.
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    for (const char* name : {"HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "SUDO_UID", "SUDO_GID"}) {
      const char* value = std::getenv(name);
      saved.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
    }
    setenv("HOME", dir.path.c_str(), 1);
    setenv("XDG_STATE_HOME", (dir.path / "state").c_str(), 1);
    setenv("XDG_CONFIG_HOME", (dir.path / "config").c_str(), 1);
    // Run as root (as CI may), "user": "host" is this user instead of root with a warning; as
    // anyone else they are not read: the outputs are the same whoever runs the tests.
    setenv("SUDO_UID", "4242", 1);
    setenv("SUDO_GID", "4242", 1);
    out.str("");
    err.str("");
    args.insert(args.begin(), "launcher");
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    int code = cli::run(static_cast<int>(argv.size()), argv.data(), context);
    // An operation the fake engine does not fake is a mistake of the test, never an outcome it checks.
    CHECK(err.str().find("fake engine: ") == std::string::npos);
    fs::current_path(previous);
    for (const auto& [name, value] : saved)
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
    return code;
  }

  // The plan hash `render` gives the shell profile with these flags: what `up` labels.
  std::string plan_hash(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args{"render", "--json",  "--profile", "shell",  "--name",
                                  env,      "--image", image,       "--gpus", "none"};
    args.insert(args.end(), flags.begin(), flags.end());
    REQUIRE(run(args) == 0);
    return json::parse(out.str())["plan_hash"];
  }

  int up(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"up", "--profile", "shell", "--name", env, "--image", image, "--gpus", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  // The env's container as the engine inspects it, labelled as `up` labels it.
  static json container_of(const std::string& hash, bool running, bool out_of_memory = false,
                           const std::string& gpus = "none", const std::string& project_dir = "") {
    json container{{"Id", "c0ffee"},
                   {"Name", "/" + env},
                   {"State",
                    {{"Running", running},
                     {"Status", running ? "running" : "exited"},
                     {"ExitCode", running ? 0 : 137},
                     {"OOMKilled", out_of_memory}}},
                   {"Config",
                    {{"Labels",
                      {{"io.launcher.env", env},
                       {"io.launcher.profile", "shell"},
                       {"io.launcher.plan-hash", hash},
                       {"io.launcher.gpus", gpus}}},
                     {"Env", {"LAUNCHER_USER=root", "LAUNCHER_UID=0", "LAUNCHER_WORKDIR=/workspace"}}}},
                   {"HostConfig", {{"Memory", 268435456}}},
                   {"NetworkSettings", {{"Ports", json::object()}}},
                   {"Mounts", json::array({{{"Destination", "/workspace"}}})}};
    if (!project_dir.empty()) container["Config"]["Labels"]["io.launcher.project-dir"] = project_dir;
    return container;
  }
};

// The commands' bench: the engine is a fake of its operations (fake_engine.hpp).
struct Bench : BenchBase {
  FakeEngine engine;

  Bench() {
    context.engine_factory = [shared = engine](engine::EngineKind kind) {
      return std::make_unique<FakeEngine>(shared, kind);
    };
  }

  void has_container(const std::string& hash, bool running, bool out_of_memory = false,
                     const std::string& gpus = "none", const std::string& project_dir = "") {
    engine.add_container(container_of(hash, running, out_of_memory, gpus, project_dir));
  }

  // Whether the engine was asked to remove no container, forced or not.
  bool removed_no_container() const {
    return engine.asked_to("remove ").empty() && engine.asked_to("remove_forced ").empty();
  }
};

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace launcher::testing
