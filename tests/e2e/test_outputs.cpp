// Issue 24, "every write is checked", with the built binary: standard output that is a full
// device, closed, or a pipe nobody reads ends with exit 1 and the reason; export refuses an output
// that is a FIFO or a device before it reads or writes; a full file system fails the atomic write
// and leaves the old file; a deleted working directory is named. No Docker engine is needed: the
// Docker CLI is a script given with --docker where a command asks it anything.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/read_file.hpp"
#include "core/text.hpp"
#include "support.hpp"

extern char** environ;

using namespace launcher::e2e;
using launcher::read_file;
using launcher::process::ProcessResult;
using launcher::process::run_process;

namespace {

// Home, config and state of the launcher inside the test's directory.
std::vector<std::string> private_env(const TempDir& dir) {
  return {"HOME=" + dir.path.string(), "XDG_CONFIG_HOME=" + (dir.path / ".config").string(),
          "XDG_STATE_HOME=" + (dir.path / ".state").string()};
}

// --user root: run as root (as CI is), the default "host" would add a warning line to stderr.
const std::vector<std::string> render_json{"render", "--json",  "--profile",           "shell",  "--gpus",
                                           "none",   "--image", "launcher-e2e/none:1", "--user", "root"};

// The launcher with ARGS in `dir`, its standard output on `stdout_fd` (-1: closed), its standard
// error collected.
ProcessResult run_with_stdout(const TempDir& dir, std::vector<std::string> args, int stdout_fd) {
  args.insert(args.begin(), launcher_binary());
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> variables = private_env(dir);
  for (char** variable = environ; *variable; ++variable) {
    std::string entry = *variable;
    if (entry.rfind("HOME=", 0) != 0 && entry.rfind("XDG_", 0) != 0) variables.push_back(entry);
  }
  std::vector<char*> envp;
  for (auto& variable : variables)
    envp.push_back(variable.data());
  envp.push_back(nullptr);

  fs::path err_file = dir.path / "stderr.txt";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.path.c_str());
  if (stdout_fd < 0)
    posix_spawn_file_actions_addclose(&actions, STDOUT_FILENO);
  else
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, launcher_binary().c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.err = read_file(err_file);
  return result;
}

void require_one_line(const ProcessResult& result, int exit_code, const std::string& message) {
  INFO(result.out << result.err);
  CHECK(result.exit_code == exit_code);
  CHECK(result.err == "launcher: error: " + message + "\n");
}

// A stand-in Docker CLI that knows every network and answers nothing else.
fs::path fake_docker(const TempDir& dir) {
  dir.write("fake-docker", "#!/bin/sh\ncase \"$*\" in\n\"network inspect\"*) echo net ;;\n*) exit 1 ;;\nesac\n");
  fs::path script = dir.path / "fake-docker";
  chmod(script.c_str(), 0755);
  return script;
}

} // namespace

TEST_CASE("outputs: render --json to /dev/full exits 1 saying the disk is full", "[e2e][outputs]") {
  TempDir dir;
  // The same command to a pipe works: the failure is the output's, not the command's.
  auto printed = run_launcher(dir, render_json, private_env(dir));
  INFO(printed.err);
  REQUIRE(printed.exit_code == 0);
  REQUIRE(printed.out.size() > 1000);

  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(full >= 0);
  auto result = run_with_stdout(dir, render_json, full);
  close(full);
  require_one_line(result, 1, "cannot write to standard output: No space left on device");
}

TEST_CASE("outputs: a closed standard output exits 1, and no file the launcher opens receives the output",
          "[e2e][outputs]") {
  TempDir dir;
  auto result = run_with_stdout(dir, render_json, -1);
  require_one_line(result, 1, "cannot write to standard output: it is closed (Bad file descriptor)");
  // --version writes too; `launcher --help` is no exception either.
  require_one_line(run_with_stdout(dir, {"--version"}, -1), 1,
                   "cannot write to standard output: it is closed (Bad file descriptor)");
}

TEST_CASE("outputs: a pipe nobody reads exits 1 with EPIPE, not a silent death by SIGPIPE", "[e2e][outputs]") {
  TempDir dir;
  int ends[2];
  REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
  close(ends[0]);
  auto result = run_with_stdout(dir, render_json, ends[1]);
  close(ends[1]);
  require_one_line(result, 1, "cannot write to standard output: Broken pipe");
}

TEST_CASE("outputs: render --json > file on a full file system exits 1, export -o keeps the old file",
          "[e2e][outputs]") {
  if (geteuid() != 0 || run_process({"unshare", "-m", "true"}).exit_code != 0)
    skip_or_fail("a tmpfs of 64 KiB needs root and unshare -m (a private mount namespace)");
  TempDir dir;
  fs::create_directories(dir.path / "small");
  fs::path docker = fake_docker(dir);
  // Inside a private mount namespace (gone with the shell): a 64 KiB tmpfs, filled up.
  std::string script = R"(set -u
small="$1"; shift
mount -t tmpfs -o size=64k tmpfs "$small" || exit 90
printf 'old\n' > "$small/compose.yaml"
head -c 1000000 /dev/zero > "$small/fill" 2>/dev/null
"$@" render --json --profile shell --gpus none --image launcher-e2e/none:1 --user root > "$small/plan.json"
echo "render=$?"
"$@" --docker )" + docker.string() +
                       R"( export --format compose -o "$small/compose.yaml" --force --profile shell --gpus none \
  --image launcher-e2e/none:1 --name outputs-full
echo "export=$?"
cat "$small/compose.yaml"
ls -A "$small"
)";
  launcher::process::ProcessOptions options;
  options.working_dir = dir.path.string();
  options.extra_env = private_env(dir);
  auto result = run_process(
      {"unshare", "-m", "sh", "-c", script, "sh", (dir.path / "small").string(), launcher_binary()}, options);
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out == "render=1\nexport=1\nold\ncompose.yaml\nfill\nplan.json\n");
  std::vector<std::string> lines = launcher::split(result.err, '\n');
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "launcher: error: cannot write to standard output: No space left on device");
  CHECK(lines[1].rfind("launcher: error: failed to ", 0) == 0);
  CHECK(lines[1].find((dir.path / "small").string()) != std::string::npos);
  CHECK(lines[1].substr(lines[1].size() - 25) == ": No space left on device");
}

TEST_CASE("outputs: export -o refuses a FIFO and a link to /dev/zero before reading or writing", "[e2e][outputs]") {
  TempDir dir;
  REQUIRE(mkfifo((dir.path / "pipe").c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", dir.path / "zero");
  const std::string not_regular = ", not a regular file; export writes a file (or standard output without -o)";
  for (const auto& [output, what] : std::vector<std::pair<std::string, std::string>>{
           {"pipe", "is a FIFO"}, {"zero", "is a link to /dev/zero, a character device"}}) {
    // No Docker CLI answers: the refusal comes before any call to it.
    auto result = run_launcher(dir,
                               {"--docker", "/nonexistent/docker", "export", "--format", "compose", "-o", output,
                                "--profile", "shell", "--gpus", "none", "--image", "launcher-e2e/none:1"},
                               private_env(dir));
    require_one_line(result, 2, "command line (--output " + output + "): " + what + not_regular);
    CHECK(result.out.empty());
  }
  CHECK(fs::is_fifo(dir.path / "pipe"));
  CHECK(fs::is_symlink(dir.path / "zero"));
}

TEST_CASE("outputs: a working directory deleted before the launcher runs is named in one line", "[e2e][outputs]") {
  TempDir dir;
  fs::create_directories(dir.path / "gone");
  launcher::process::ProcessOptions options;
  options.extra_env = private_env(dir);
  auto result = run_process({"sh", "-c", "cd \"$1\" && rmdir \"$1\" && exec \"$0\" render --profile shell",
                             launcher_binary(), (dir.path / "gone").string()},
                            options);
  require_one_line(result, 1,
                   "the working directory no longer exists (it was deleted or moved away since the shell entered "
                   "it); cd to an existing directory and run the command again");
}
