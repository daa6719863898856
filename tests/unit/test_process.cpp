// The process runner: time limits, signals under an InterruptScope, and why a program could not start.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "core/read_file.hpp"
#include "process/process.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::TempDir;

namespace {

// Options that bound the child to `limit`.
process::ProcessOptions within(std::chrono::seconds limit) {
  process::ProcessOptions options;
  options.timeout = limit;
  return options;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string spawn_error(const std::vector<std::string>& argv) {
  try {
    process::run_process(argv);
  } catch (const process::SpawnFailed& error) {
    return error.what();
  }
  FAIL("expected SpawnFailed from " << argv[0]);
  return "";
}

} // namespace

TEST_CASE("a child past its timeout is ended and the call throws, naming it", "[process]") {
  try {
    process::run_process({"sleep", "100"}, within(std::chrono::seconds(1)));
    FAIL("sleep 100 returned within a 1 s limit");
  } catch (const process::TimedOut& error) {
    CHECK(std::string(error.what()) == "`sleep 100` timed out after 1 s");
    CHECK(error.limit() == std::chrono::seconds(1));
  }
}

TEST_CASE("a bounded child that ends in time returns its output and status", "[process]") {
  auto result = process::run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, within(std::chrono::seconds(30)));
  CHECK(result.exit_code == 3);
  CHECK(result.out == "out\n");
  CHECK(result.err == "err\n");
}

TEST_CASE("a timed-out child's whole process group ends, the grandchildren holding its output too", "[process]") {
  // sh's child `sleep` keeps the output pipe open: the call still ends.
  CHECK_THROWS_AS(process::run_process({"sh", "-c", "sleep 100 & sleep 100; wait"}, within(std::chrono::seconds(1))),
                  process::TimedOut);
}

TEST_CASE("a signal under an InterruptScope ends the running child and throws Interrupted", "[process][signal]") {
  process::InterruptScope scope;
  SECTION("a signal during the call") {
    try {
      // The child signals us, its parent, then waits for ever.
      process::run_process({"sh", "-c", "kill -INT $PPID; exec sleep 100"}, within(std::chrono::seconds(100)));
      FAIL("the call returned");
    } catch (const process::Interrupted& error) {
      CHECK(error.signal() == SIGINT);
      CHECK(static_cast<int>(error.code()) == 130);
      CHECK(contains(error.what(), "interrupted by SIGINT during `sh -c"));
    }
  }
  SECTION("a signal before the call: nothing is started") {
    raise(SIGHUP);
    CHECK(process::InterruptScope::pending() == SIGHUP);
    try {
      process::run_process({"true"});
      FAIL("the call ran");
    } catch (const process::Interrupted& error) {
      CHECK(static_cast<int>(error.code()) == 129);
      CHECK(std::string(error.what()) == "interrupted by SIGHUP before `true`");
    }
    // Clean-up acknowledges it: only a further signal interrupts.
    process::InterruptScope::acknowledge();
    CHECK(process::InterruptScope::pending() == 0);
    CHECK(process::run_process({"true"}).exit_code == 0);
    raise(SIGTERM);
    CHECK_THROWS_AS(process::run_process({"true"}), process::Interrupted);
  }
}

namespace {

// Runs `script` with its output shown and a notice after every `quiet_after` of silence; returns
// what reached our stderr (a file for the while) and the notices' running times.
std::pair<std::string, std::vector<std::chrono::milliseconds>> watched(const std::string& script,
                                                                       std::chrono::milliseconds quiet_after) {
  TempDir dir;
  std::vector<std::chrono::milliseconds> notices;
  process::ProcessOptions options;
  options.show_output = true;
  options.quiet_after = quiet_after;
  options.on_quiet = [&](std::chrono::milliseconds running) { notices.push_back(running); };
  int saved = dup(STDERR_FILENO);
  int file = open((dir.path / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(file, STDERR_FILENO);
  close(file);
  process::ProcessResult result = process::run_process({"sh", "-c", script}, options);
  dup2(saved, STDERR_FILENO);
  close(saved);
  CHECK(result.exit_code == 0);
  CHECK(result.out.empty()); // shown, not captured
  CHECK(result.err.empty());
  return {read_file(dir.path / "stderr"), notices};
}

} // namespace

TEST_CASE("shown output is relayed as it comes, with a notice after each stretch of silence", "[process]") {
  auto [shown, notices] = watched("echo first; sleep 2; echo second >&2", std::chrono::milliseconds(300));
  CHECK(shown == "first\nsecond\n");
  REQUIRE_FALSE(notices.empty()); // 2 s of silence: about six stretches of 300 ms
  CHECK(notices.front() >= std::chrono::milliseconds(300));
  CHECK(std::is_sorted(notices.begin(), notices.end()));
}

TEST_CASE("output restarts the stretch: a child that never pauses as long as the stretch gets no notice", "[process]") {
  // 2 s in all, never 1.5 s without a line.
  auto [shown, notices] = watched("for i in 1 2 3 4 5; do echo $i; sleep 0.4; done", std::chrono::milliseconds(1500));
  CHECK(shown == "1\n2\n3\n4\n5\n");
  CHECK(notices.empty());
}

TEST_CASE("a program that cannot start says why, naming it", "[process][spawn]") {
  TempDir dir;
  CHECK(spawn_error({"launcher-test-no-such-program"}) ==
        "failed to run launcher-test-no-such-program: not found on PATH");
  CHECK(spawn_error({(dir.path / "absent").string()}) ==
        "failed to run " + (dir.path / "absent").string() + ": no such file");
  CHECK(spawn_error({dir.path.string()}) ==
        "failed to run " + dir.path.string() + ": " + dir.path.string() + " is a directory, not a program");
  dir.write("plain", "echo hi\n");
  std::string plain = (dir.path / "plain").string();
  chmod(plain.c_str(), 0644);
  // execve needs an x bit, root included.
  CHECK(spawn_error({plain}) == "failed to run " + plain + ": " + plain + " is not executable (permission denied)");
  dir.write("script", "#!/nonexistent/interpreter -x\necho hi\n");
  std::string script = (dir.path / "script").string();
  chmod(script.c_str(), 0755);
  CHECK(spawn_error({script}) == "failed to run " + script +
                                     ": its interpreter /nonexistent/interpreter (the #! line of " + script +
                                     ") does not exist");
  // One argument past the kernel's 128 KiB limit for a single string.
  std::string message = spawn_error({"true", std::string(200 * 1024, 'a')});
  CHECK(contains(message, "failed to run true: argument list too long ("));
  CHECK(contains(message, " bytes of arguments/environment)"));
}

TEST_CASE("spawn failures never blame PATH for a program that is there", "[process][spawn]") {
  CHECK(process::spawn_failure_message("sh", ENOENT, 0) != "failed to run sh: not found on PATH");
  CHECK(process::spawn_failure_message("sh", E2BIG, 12345) ==
        "failed to run sh: argument list too long (12345 bytes of arguments/environment)");
  CHECK(process::spawn_failure_message("launcher-test-no-such-program", E2BIG, 7) ==
        "failed to run launcher-test-no-such-program: argument list too long (7 bytes of arguments/environment)");
}

TEST_CASE("a command line in a message is cut to a readable length", "[process]") {
  CHECK(process::command_line_for_message({"docker", "network", "create", "launcher-x"}) ==
        "docker network create launcher-x");
  std::string long_line = process::command_line_for_message(std::vector<std::string>(100, std::string(70, 'x')));
  CHECK(long_line.size() < 260);
  CHECK(long_line.ends_with("…"));
}
