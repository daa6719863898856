// Which engine the launcher drives: --engine, LAUNCHER_ENGINE, the user-level config file, then
// Docker when it answers, else Podman.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_bench.hpp"
#include "core/error.hpp"
#include "engine/choice.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::engine::EngineKind;
using launcher::engine::EngineSetting;
using launcher::testing::CliBench;
using launcher::testing::require_error;
using launcher::testing::TempDir;
using nlohmann::json;

namespace {

const std::function<bool()> never_asked = [] {
  FAIL("Docker was probed although a setting chose the engine");
  return true;
};

} // namespace

TEST_CASE("the first setting given chooses the engine: the flag, the variable, then the config file",
          "[engine][choice]") {
  const EngineSetting flag{"docker", "--engine"}, variable{"podman", "LAUNCHER_ENGINE"},
      file{"docker", "/c/launcher/config.json: /engine"};
  CHECK(engine::choose_engine({flag, variable, file}, never_asked) == EngineKind::docker);
  CHECK(engine::choose_engine({std::nullopt, variable, file}, never_asked) == EngineKind::podman);
  CHECK(engine::choose_engine({std::nullopt, std::nullopt, file}, never_asked) == EngineKind::docker);
}

TEST_CASE("with no setting, Docker when it is the default, else Podman", "[engine][choice]") {
  int probes = 0;
  CHECK(engine::choose_engine({std::nullopt, std::nullopt, std::nullopt}, [&] { return ++probes, true; }) ==
        EngineKind::docker);
  CHECK(engine::choose_engine({std::nullopt, std::nullopt, std::nullopt}, [&] { return ++probes, false; }) ==
        EngineKind::podman);
  CHECK(probes == 2);
}

TEST_CASE("Docker is the default when it answers, when DOCKER_HOST names it, or when no Podman is installed",
          "[engine][choice]") {
  CHECK(engine::docker_is_default("", true, true));
  CHECK_FALSE(engine::docker_is_default("", false, true)); // a user outside the docker group, Podman installed
  CHECK(engine::docker_is_default("", false, false));      // Docker's error says how to start or join it
  CHECK(engine::docker_is_default("unix:///run/other.sock", false, true));
}

TEST_CASE("a bad engine name is an error naming where it was set and the value", "[engine][choice]") {
  require_error(
      [] {
        engine::parse_engine({"dockr", "--engine"});
      },
      ExitCode::usage, "--engine: expected docker or podman, found \"dockr\"");
  require_error(
      [] {
        engine::parse_engine({"Podman", "LAUNCHER_ENGINE"});
      },
      ExitCode::usage, "LAUNCHER_ENGINE: expected docker or podman, found \"Podman\"");
  // A later setting is never read once one is bad: the bad one is the error.
  require_error(
      [] {
        engine::choose_engine({EngineSetting{"", "--engine"}, std::nullopt, std::nullopt}, never_asked);
      },
      ExitCode::usage, "--engine: expected docker or podman, found \"\"");
}

TEST_CASE("the user-level config file is config.json beside the user's profiles, under XDG_CONFIG_HOME",
          "[engine][choice]") {
  CHECK(engine::user_config_file("/cfg", "/home/a") == "/cfg/launcher/config.json");
  CHECK(engine::user_config_file("", "/home/a") == "/home/a/.config/launcher/config.json");
  // XDG says a relative value is to be ignored.
  CHECK(engine::user_config_file("cfg", "/home/a") == "/home/a/.config/launcher/config.json");
}

TEST_CASE("the config file's engine: absent file or key is no setting, a bad one names the file", "[engine][choice]") {
  TempDir dir;
  const auto file = dir.path / "config.json";
  CHECK_FALSE(engine::engine_in_config(file));
  auto write = [&](const std::string& text) { std::ofstream(file) << text; };
  write(R"({"engine": "podman"})");
  auto setting = engine::engine_in_config(file);
  REQUIRE(setting);
  CHECK(setting->value == "podman");
  CHECK(setting->source == file.string() + ": /engine");
  write("{}");
  CHECK_FALSE(engine::engine_in_config(file));
  write(R"({"engine": 3})");
  require_error([&] { engine::engine_in_config(file); }, ExitCode::usage,
                file.string() + ": /engine: expected docker or podman, found 3");
  write("[\"podman\"]");
  require_error([&] { engine::engine_in_config(file); }, ExitCode::usage,
                file.string() + ": expected a JSON object, such as {\"engine\": \"podman\"}");
  write("{\"engine\": ");
  require_error([&] { engine::engine_in_config(file); }, ExitCode::usage,
                file.string() + ": expected a JSON object, such as {\"engine\": \"podman\"}");
  write(R"({"engine": "rkt"})");
  require_error([&] { engine::parse_engine(*engine::engine_in_config(file)); }, ExitCode::usage,
                file.string() + ": /engine: expected docker or podman, found \"rkt\"");
}

TEST_CASE("Docker answers when its socket takes a connection", "[engine][choice]") {
  TempDir dir;
  const std::string path = (dir.path / "docker.sock").string();
  CHECK_FALSE(engine::docker_answers("unix://" + path)); // nothing there
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  CHECK(engine::docker_answers("unix://" + path));
  ::close(listener);
  // A remote engine is not probed: its CLI says whether it answers.
  CHECK(engine::docker_answers("tcp://192.0.2.1:2375"));
}

TEST_CASE("the flag --engine, LAUNCHER_ENGINE and the config file reach the commands, the flag first",
          "[engine][choice][cli]") {
  CliBench bench;
  bench.docker.on({"ps", "-a", "--no-trunc"}, "");
  REQUIRE(bench.run({"--engine", "dockr", "ps"}) == 2);
  CHECK(bench.err.str() == "launcher: error: --engine: expected docker or podman, found \"dockr\"\n");

  CliBench configured;
  configured.docker.on({"ps", "-a", "--no-trunc"}, "");
  const auto file = configured.dir.path / "config.json";
  std::ofstream(file) << R"({"engine": "podman"})";
  configured.context.config_file = file;
  REQUIRE(configured.run({"ps", "--json"}) == 0);
  // Podman's listing asks for every label as one object.
  auto listings = configured.docker.calls_to({"ps", "-a", "--no-trunc"});
  REQUIRE(listings.size() == 1);
  CHECK(listings[0].back() == docker::listing_format_all_labels());

  CliBench flagged;
  flagged.docker.on({"ps", "-a", "--no-trunc"}, "");
  flagged.context.config_file = file;
  flagged.context.engine_variable = EngineSetting{"podman", "LAUNCHER_ENGINE"};
  REQUIRE(flagged.run({"--engine", "docker", "ps", "--json"}) == 0);
  listings = flagged.docker.calls_to({"ps", "-a", "--no-trunc"});
  REQUIRE(listings.size() == 1);
  CHECK(listings[0].back() ==
        docker::listing_format({"io.launcher.env", "io.launcher.profile", "io.launcher.gpus", "io.launcher.backup"}));
}

TEST_CASE("the config file is read only when neither --engine nor LAUNCHER_ENGINE decides", "[engine][choice][cli]") {
  CliBench bench;
  bench.docker.on({"ps", "-a", "--no-trunc"}, "");
  const auto file = bench.dir.path / "config.json";
  std::ofstream(file) << "not JSON";
  bench.context.config_file = file;
  REQUIRE(bench.run({"--engine", "docker", "ps", "--json"}) == 0);
  bench.context.engine_variable = EngineSetting{"docker", "LAUNCHER_ENGINE"};
  REQUIRE(bench.run({"ps", "--json"}) == 0);
  bench.context.engine_variable.reset();
  REQUIRE(bench.run({"ps", "--json"}) == 2);
  CHECK(bench.err.str().find(file.string() + ": expected a JSON object") != std::string::npos);
}
