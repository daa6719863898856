#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "profile/files.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
namespace fs = std::filesystem;
using launcher::testing::TempDir;

namespace {

profile::ProfileLocations locations(const fs::path& cwd, const fs::path& home,
                                    std::optional<std::string> xdg = std::nullopt) {
  return {cwd, home,
          [xdg](const std::string& name) -> std::optional<std::string> {
            if (name == "XDG_CONFIG_HOME") return xdg;
            return std::nullopt;
          },
          getuid(), host::real_path_probe()};
}

std::optional<fs::path> team_file_from(const fs::path& start) {
  return profile::search_team_file(start, getuid(), host::real_path_probe()).file;
}

} // namespace

TEST_CASE("the team file is found by walking up from the working directory", "[profile][files]") {
  TempDir dir;
  dir.write("repo/launcher.json", R"({"version": 1, "profiles": {"train": {"extends": "jupyter"}}})");
  fs::create_directories(dir.path / "repo/src/models");
  CHECK(team_file_from(dir.path / "repo/src/models") == dir.path / "repo/launcher.json");
  CHECK_FALSE(team_file_from(dir.path));

  profile::Catalog catalog = profile::load_catalog(locations(dir.path / "repo/src/models", dir.path / "home"));
  REQUIRE(catalog.sources.size() == 2);
  CHECK(catalog.sources[1].name == (dir.path / "repo/launcher.json").string());
  CHECK(catalog.sources_defining("train") == std::vector<std::string>{(dir.path / "repo/launcher.json").string()});
}

TEST_CASE("the user file honours XDG_CONFIG_HOME and sits below the team file", "[profile][files]") {
  TempDir dir;
  CHECK(profile::user_profile_file(locations(dir.path, "/home/alice")) == "/home/alice/.config/launcher/profiles.json");
  CHECK(profile::user_profile_file(locations(dir.path, "/home/alice", "/cfg")) == "/cfg/launcher/profiles.json");
  CHECK(profile::user_profile_file(locations(dir.path, "/home/alice", "relative")) ==
        "/home/alice/.config/launcher/profiles.json");

  dir.write(
      "cfg/launcher/profiles.json",
      R"({"version": 1, "profiles": {"jupyter": {"volumes": [{"host": "data", "container": "/data", "create": true}]}}})");
  dir.write("work/launcher.json", R"({"version": 1, "profiles": {"jupyter": {"env": {"TEAM": "1"}}}})");
  profile::Catalog catalog =
      profile::load_catalog(locations(dir.path / "work", dir.path / "home", (dir.path / "cfg").string()));
  REQUIRE(catalog.sources.size() == 3);
  profile::Sourced jupyter = profile::merge_profile(catalog, "jupyter");
  // Relative host paths resolve against the file that declared them.
  CHECK(jupyter.fields["volumes"][1]["host"] == (dir.path / "cfg/launcher/data").string());
  CHECK(jupyter.fields["volumes"][0]["host"] == (dir.path / "work").string());
  CHECK(jupyter.fields["env"]["TEAM"] == "1");
}

// --- files that are not regular files (issue 24) --------------------------------------------

TEST_CASE("a broken team file is an error naming it, never skipped for a parent's", "[profile][files]") {
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"parent": {}}})");
  fs::create_directories(dir.path / "repo");
  fs::path team = dir.path / "repo/launcher.json";
  fs::path home = dir.path / "home";

  fs::create_symlink(dir.path / "repo/gone.json", team);
  CHECK(team_file_from(dir.path / "repo") == team);
  testing::require_error([&] { profile::load_catalog(locations(dir.path / "repo", home)); }, ExitCode::failed,
                         "failed to read: " + team.string() + ": is a symbolic link to " +
                             (dir.path / "repo/gone.json").string() + ", which does not exist");
  fs::remove(team);

  fs::create_symlink(team, team); // a loop of one
  testing::require_error([&] { profile::load_catalog(locations(dir.path / "repo", home)); }, ExitCode::failed,
                         "failed to read: " + team.string() +
                             ": is a symbolic link loop (or a chain of more than 40 links)");
  fs::remove(team);

  fs::create_directory(team);
  testing::require_error([&] { profile::load_catalog(locations(dir.path / "repo", home)); }, ExitCode::failed,
                         "failed to read: " + team.string() + ": is a directory, not a regular file");
  fs::remove(team);

  fs::create_symlink("/dev/null", team);
  testing::require_error([&] { profile::load_catalog(locations(dir.path / "repo", home)); }, ExitCode::failed,
                         "failed to read: " + team.string() + ": is a character device, not a regular file");
}

TEST_CASE("a user profiles.json that is a directory or a FIFO says so", "[profile][files]") {
  TempDir dir;
  fs::path user = dir.path / "home/.config/launcher/profiles.json";
  fs::create_directories(user);
  testing::require_error([&] { profile::load_catalog(locations(dir.path, dir.path / "home")); }, ExitCode::failed,
                         "failed to read: " + user.string() + ": is a directory, not a regular file");
  fs::remove(user);
  REQUIRE(mkfifo(user.c_str(), 0600) == 0);
  testing::require_error([&] { profile::load_catalog(locations(dir.path, dir.path / "home")); }, ExitCode::failed,
                         "failed to read: " + user.string() + ": is a FIFO, not a regular file");
}
