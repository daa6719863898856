// `launcher open` as another local user sees it: every process's command line, read from /proc.
#include <sys/stat.h>

#include <future>
#include <thread>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

std::string content_of(const fs::path& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), {});
}

} // namespace

TEST_CASE("security: open puts the token on no command line, the browser gets a 0600 page", "[e2e][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("open");
  auto started = run_launcher(
      dir, {"up", "--json", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  UpEnvironment environment{dir, name};
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  std::string url = json::parse(started.out)["url"];
  REQUIRE(url.find("?token=") != std::string::npos);
  std::string token = url.substr(url.find("?token=") + 7);
  REQUIRE(token.size() >= 16);

  // The browser: records what it was given, says it started, and holds until the scan is done.
  fs::path bin = dir.path / "bin";
  dir.write("bin/xdg-open", "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + (dir.path / "argv").string() + "\n: > " +
                                (dir.path / "started").string() + "\ni=0\nwhile [ ! -e " +
                                (dir.path / "release").string() +
                                " ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n");
  fs::permissions(bin / "xdg-open", fs::perms::owner_all);
  fs::path runtime = dir.path / "run";
  fs::create_directory(runtime);
  fs::permissions(runtime, fs::perms::owner_all, fs::perm_options::replace);
  fs::create_directory(dir.path / "home");
  const char* path = std::getenv("PATH");
  std::vector<std::string> environment_of_open{"PATH=" + bin.string() + ":" + (path ? path : "/usr/bin:/bin"),
                                               "DISPLAY=:99", "HOME=" + (dir.path / "home").string(),
                                               "XDG_RUNTIME_DIR=" + runtime.string()};
  use_state_in(dir);
  auto opened = std::async(std::launch::async, [&] {
    launcher::process::ProcessOptions options;
    options.working_dir = dir.path.string();
    options.extra_env = environment_of_open;
    return launcher::process::run_process({launcher_binary(), "open", name}, options);
  });
  // Until the browser runs, or the launcher ends without starting it.
  while (!fs::exists(dir.path / "started") &&
         opened.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {}
  REQUIRE(fs::exists(dir.path / "started"));
  std::vector<std::string> hits;
  for (const auto& line : all_command_lines())
    if (line.find(token) != std::string::npos) hits.push_back(line);
  dir.write("release", "");
  auto result = opened.get();
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(hits == std::vector<std::string>{});
  CHECK(result.out == url + "\n"); // the user's own terminal still shows the URL

  std::string argv = content_of(dir.path / "argv");
  fs::path page = runtime / "launcher" / (name + "-open.html");
  CHECK(argv == "file://" + page.string() + "\n");
  struct stat info {};
  REQUIRE(lstat(page.c_str(), &info) == 0);
  CHECK(S_ISREG(info.st_mode));
  CHECK((info.st_mode & 07777) == 0600);
  CHECK(info.st_uid == geteuid());
  CHECK(content_of(page).find("url=" + url + "\"") != std::string::npos);
}

TEST_CASE("security: as root, \"user\": \"host\" is who ran sudo, else root with one warning that --user root silences",
          "[e2e][security][root]") {
  if (geteuid() != 0) skip_or_fail("the root-user rules apply only when the launcher runs as root");
  // Only what each case adds: a test run through sudo must not decide the answers.
  unsetenv("SUDO_UID");
  unsetenv("SUDO_GID");
  TempDir dir;
  const std::vector<std::string> render{"render", "--json", "--profile", "shell",
                                        "--gpus", "none",   "--image",   "launcher-e2e/none:1"};
  auto under_sudo = run_launcher(dir, render, {"SUDO_UID=4242", "SUDO_GID=4343"});
  INFO(under_sudo.err);
  REQUIRE(under_sudo.exit_code == 0);
  CHECK(under_sudo.err.empty());
  json user = json::parse(under_sudo.out)["plan"]["user"];
  CHECK(user["uid"] == 4242);
  CHECK(user["gid"] == 4343);

  auto as_root = run_launcher(dir, render);
  REQUIRE(as_root.exit_code == 0);
  CHECK(json::parse(as_root.out)["plan"]["user"]["uid"] == 0);
  CHECK(as_root.err.rfind("launcher: warning: the env's user is root", 0) == 0);
  CHECK(std::count(as_root.err.begin(), as_root.err.end(), '\n') == 1);

  std::vector<std::string> meant = render;
  meant.insert(meant.end(), {"--user", "root"});
  auto explicit_root = run_launcher(dir, meant);
  REQUIRE(explicit_root.exit_code == 0);
  CHECK(explicit_root.err.empty());
}
