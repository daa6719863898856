// The one environment-name rule (core/env_name.hpp), and the containment proof every path under
// the state directory passes (host/state_layout.hpp). Pure: nothing here deletes anything; the
// symbolic links are made inside a temporary directory.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "cli/app.hpp"
#include "core/env_name.hpp"
#include "core/text.hpp"
#include "host/host_facts.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::require_error;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string refusal(const std::string& quoted, const std::string& problem) {
  return "invalid environment name " + quoted + ": " + problem + "; " + env_name_rule;
}

} // namespace

TEST_CASE("an environment name follows Docker's container-name rule, up to 63 characters", "[env-name]") {
  for (const std::string& name :
       std::vector<std::string>{"ab", "proj-jupyter", "a.b_c-d", "0x", "A1", std::string(63, 'x')}) {
    CAPTURE(name);
    CHECK(env_name_problem(name).empty());
    CHECK(EnvName::parse(name).str() == name);
  }
}

TEST_CASE("every hostile environment name is refused in one line naming it and the rule", "[env-name]") {
  require_error([] { EnvName::parse(""); }, ExitCode::usage, refusal("\"\"", "it is empty"));
  require_error([] { EnvName::parse("."); }, ExitCode::usage, refusal("\".\"", "it names a directory"));
  require_error([] { EnvName::parse(".."); }, ExitCode::usage, refusal("\"..\"", "it names a directory"));
  require_error([] { EnvName::parse("/"); }, ExitCode::usage, refusal("\"/\"", "it contains '/'"));
  require_error([] { EnvName::parse("./.."); }, ExitCode::usage, refusal("\"./..\"", "it contains '/'"));
  require_error([] { EnvName::parse("./../../x"); }, ExitCode::usage, refusal("\"./../../x\"", "it contains '/'"));
  require_error([] { EnvName::parse("a/b"); }, ExitCode::usage, refusal("\"a/b\"", "it contains '/'"));
  require_error([] { EnvName::parse(std::string("a\0b", 3)); }, ExitCode::usage,
                refusal("\"a\\u0000b\"", "it contains a control character"));
  require_error([] { EnvName::parse("a\x1b[31mb"); }, ExitCode::usage,
                refusal("\"a\\u001b[31mb\"", "it contains a control character"));
  require_error([] { EnvName::parse("a\nb"); }, ExitCode::usage,
                refusal("\"a\\nb\"", "it contains a control character"));
  require_error([] { EnvName::parse(".hidden"); }, ExitCode::usage,
                refusal("\".hidden\"", "it does not start with a letter or digit"));
  require_error([] { EnvName::parse("-rf"); }, ExitCode::usage,
                refusal("\"-rf\"", "it does not start with a letter or digit"));
  require_error([] { EnvName::parse("a b"); }, ExitCode::usage, refusal("\"a b\"", "it contains other characters"));
  require_error([] { EnvName::parse("日本"); }, ExitCode::usage,
                refusal("\"日本\"", "it does not start with a letter or digit"));
  require_error([] { EnvName::parse("x"); }, ExitCode::usage, refusal("\"x\"", "it is 1 character long"));
  require_error([] { EnvName::parse(std::string(64, 'x')); }, ExitCode::usage,
                refusal("\"" + std::string(64, 'x') + "\"", "it is 64 characters long"));
}

TEST_CASE("is_strictly_inside compares whole path elements", "[env-name][state]") {
  CHECK(host::is_strictly_inside("/s/launcher", "/s/launcher/envs/a"));
  CHECK(host::is_strictly_inside("/s/launcher/", "/s/launcher/envs"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/s/launcher"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/s/launcher/"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/s/launcher2/envs"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/s"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/"));
  CHECK_FALSE(host::is_strictly_inside("/s/launcher", "/etc/passwd"));
}

TEST_CASE("a state path that a symbolic link leads outside the state directory is refused", "[env-name][state]") {
  TempDir dir;
  fs::path state_home = dir.path / "state";
  fs::create_directories(state_home / "launcher/envs");
  fs::create_directories(dir.path / "victim");
  host::StateLayout layout = host::state_layout(EnvName::parse("good-env"), state_home);
  CHECK(layout.state_dir == state_home / "launcher");
  CHECK(layout.lock_file() == state_home / "launcher/envs/.good-env.lock");
  CHECK(layout.inside(layout.known_hosts()) == layout.known_hosts());

  // The env's directory is a link to a directory beside the state directory.
  fs::create_directory_symlink(dir.path / "victim", state_home / "launcher/envs/linked-env");
  fs::path resolved = fs::weakly_canonical(dir.path / "victim");
  fs::path root = fs::weakly_canonical(state_home / "launcher");
  require_error([&] { host::state_layout(EnvName::parse("linked-env"), state_home); }, ExitCode::failed,
                "refusing to touch \"" + (state_home / "launcher/envs/linked-env/secrets").string() +
                    "\": it resolves to \"" + (resolved / "secrets").string() + "\", outside the state directory \"" +
                    root.string() + "\"");
  // A secret file that is a link out of it.
  fs::create_directories(layout.env_dir);
  fs::create_symlink(dir.path / "victim/file", layout.known_hosts());
  CHECK_THROWS_AS(layout.inside(layout.known_hosts()), Error);
  // The whole envs directory a link elsewhere: the lock file would be outside.
  fs::path other_home = dir.path / "other";
  fs::create_directories(other_home / "launcher");
  fs::create_directory_symlink(dir.path / "victim", other_home / "launcher/envs");
  CHECK_THROWS_AS(host::state_layout(EnvName::parse("good-env"), other_home), Error);
  CHECK(fs::is_empty(dir.path / "victim")); // state_layout created nothing through a link
}

TEST_CASE("HOME must be an existing absolute directory, XDG_STATE_HOME absolute", "[env-name][host]") {
  TempDir dir;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  for (const char* name : {"HOME", "XDG_STATE_HOME"}) {
    const char* value = std::getenv(name);
    saved.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
  }
  setenv("HOME", "relative/home", 1);
  unsetenv("XDG_STATE_HOME");
  require_error([] { host::read_host_facts(); }, ExitCode::usage, "HOME=\"relative/home\" is not an absolute path");
  setenv("HOME", (dir.path / "missing").c_str(), 1);
  require_error([] { host::read_host_facts(); }, ExitCode::usage,
                "HOME=\"" + (dir.path / "missing").string() + "\" is not an existing directory");
  CHECK_FALSE(fs::exists(dir.path / "missing"));
  setenv("HOME", dir.path.c_str(), 1);
  setenv("XDG_STATE_HOME", "rel/state", 1);
  require_error([] { host::read_host_facts(); }, ExitCode::usage,
                "XDG_STATE_HOME=\"rel/state\" is not an absolute path; unset it or make it one");
  unsetenv("XDG_STATE_HOME");
  CHECK(host::read_host_facts().state_home == dir.path / ".local/state");
  for (const auto& [name, value] : saved)
    value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
}

TEST_CASE("a launcher that waited on a lock file `down --purge` deleted locks the new one", "[env-name][lock]") {
  TempDir dir;
  host::StateLayout layout = host::state_layout(EnvName::parse("lock-env"), dir.path / "state");
  std::ostringstream notices;
  auto first = std::make_unique<lifecycle::EnvironmentLock>(layout, notices);
  CHECK(fs::exists(layout.lock_file()));
  std::atomic<bool> second_holds{false};
  std::thread waiter([&] {
    std::ostringstream waiting;
    lifecycle::EnvironmentLock second(layout, waiting);
    second_holds = true;
    CHECK(fs::exists(layout.lock_file())); // the file it holds is the one at the path
    // A third one must not get in while the second holds it.
    std::ostringstream third;
    CHECK_THROWS_AS(lifecycle::EnvironmentLock(layout, third, false), Error);
  });
  first->remove_file();
  first.reset();
  waiter.join();
  CHECK(second_holds);
}

// Only the commands that delete or rewrite nothing run here, in-process: `down --purge` and
// `secret` get these names from e2e.hostile-env-names, under readonly-root.sh.
TEST_CASE("every command that takes ENV refuses a hostile name while parsing, before anything runs",
          "[env-name][cli]") {
  const std::vector<std::vector<std::string>> commands{{"open"},
                                                       {"logs"},
                                                       {"exec"},
                                                       {"ssh"},
                                                       {"ssh-config"},
                                                       {"snapshot"},
                                                       {"up", "--dry-run", "--name"},
                                                       {"render", "--name"}};
  for (const auto& command : commands)
    for (const std::string name : {"", ".", "..", "./..", "./../../x", "a/b"}) {
      std::vector<std::string> args{"launcher"};
      args.insert(args.end(), command.begin(), command.end());
      if (command.back() != "--name") args.push_back("--");
      args.push_back(name);
      std::vector<char*> argv;
      for (auto& arg : args)
        argv.push_back(arg.data());
      std::ostringstream out, err;
      CAPTURE(args);
      CHECK(cli::run(static_cast<int>(argv.size()), argv.data(), out, err) == 2);
      CHECK(err.str().find("invalid environment name " + quote_for_message(name) + ": ") != std::string::npos);
      CHECK(err.str().find(env_name_rule) != std::string::npos);
      CHECK(out.str().empty());
    }
}
