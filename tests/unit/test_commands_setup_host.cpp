// `launcher setup-host`, run in this process: under --root in a temporary tree as this user (never
// the host's /var/lib or its groups), and as a non-root user without --root.
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "file_mode.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::mode_of;

namespace {

std::string own_group() {
  const group* entry = getgrgid(getegid());
  REQUIRE(entry);
  return entry->gr_name;
}

std::string own_user() { return std::string(getpwuid(geteuid())->pw_name); }

} // namespace

TEST_CASE("setup-host --root makes the table in a temporary tree, says so, then has nothing to do",
          "[commands][setup-host]") {
  Bench bench;
  std::string root = (bench.dir.path / "host").string();
  std::string group = own_group();
  std::string dir = root + "/var/lib/launcher/gpus";
  std::string join = "users who share the GPUs join the group: sudo usermod -aG " + group +
                     " USER (it takes effect at their next login)\n";

  std::vector<std::string> steps{
      "create directory " + dir + ", owned by " + own_user() + ":" + group,
      "create its lock file " + dir + "/.lock (mode 644)",
      "set the mode of " + dir + " to 3775 (setgid: entries get the group; sticky: no user removes another's entry)"};
  std::string would = "setup-host would:\n", done;
  for (const auto& step : steps) {
    would += "  " + step + "\n";
    done += "done: " + step + "\n";
  }
  REQUIRE(bench.run({"setup-host", "--root", root, "--group", group, "--dry-run"}) == 0);
  CHECK(bench.out.str() == would);
  CHECK_FALSE(std::filesystem::exists(root));

  REQUIRE(bench.run({"setup-host", "--root", root, "--group", group}) == 0);
  CHECK(bench.out.str() == done + join);
  CHECK(mode_of(dir) == 03775);

  REQUIRE(bench.run({"setup-host", "--root", root, "--group", group}) == 0);
  CHECK(bench.out.str() ==
        "the shared GPU table " + dir + " is set up for group " + group + "; nothing to do\n" + join);

  CHECK(bench.run({"setup-host", "--root", root, "--group", "launcher-test-no-such-group"}) == 1);
  CHECK(bench.err.str() == "launcher: error: group launcher-test-no-such-group does not exist, and setup-host --root "
                           "adds no group to this host; name an existing one with --group\n");
}

TEST_CASE("setup-host without root prints what it would do and the command to run", "[commands][setup-host]") {
  // A user who is not root (nobody, when the tests run as root); /var/lib is only looked at.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (geteuid() == 0 &&
        (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0))
      _exit(2);
    std::ostringstream out, err;
    commands::Context context;
    context.out = &out;
    context.err = &err;
    std::vector<std::string> args{"launcher", "setup-host", "--group", "launcher-test-no-such-group"};
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    int code = cli::run(static_cast<int>(argv.size()), argv.data(), context);
    bool said = out.str().rfind("setup-host would:\n  create group launcher-test-no-such-group (groupadd --system "
                                "launcher-test-no-such-group)\n",
                                0) == 0 &&
                err.str() == "launcher: error: setup-host changes the host and must run as root: sudo launcher "
                             "setup-host --group launcher-test-no-such-group\n";
    _exit(code == 1 && said ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
