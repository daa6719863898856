// A Docker CLI that hangs or is interrupted, played by a fake `docker` script (--docker): every
// call ends within its limit with one line naming it, and a signal during `up` removes what that
// `up` made. No real engine is touched.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>

#include "support.hpp"

extern char** environ;

using namespace launcher::e2e;

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// What the fake runs to hang: a sleep whose command line is this test process's own.
std::string hang() { return "sleep 1000." + std::to_string(getpid()); }

// Whether a hang the fake started is still running.
bool hang_left() { return !launcher::process::run_process({"pgrep", "-f", "^" + hang() + "$"}).out.empty(); }

// An executable shell script `name` in `dir` that logs each call's arguments to dir/calls.log.
std::string fake_docker(const TempDir& dir, const std::string& body) {
  std::filesystem::path script = dir.path / "fake-docker";
  dir.write("fake-docker", "#!/bin/sh\necho \"$*\" >> '" + (dir.path / "calls.log").string() + "'\n" + body);
  chmod(script.c_str(), 0755);
  return script.string();
}

// The launcher with HOME and its state inside `dir`, bounded so that a hang fails the test
// instead of stopping the suite.
launcher::process::ProcessResult run_bounded(const TempDir& dir, std::vector<std::string> args,
                                             std::vector<std::string> extra_env) {
  use_state_in(dir);
  args.insert(args.begin(), launcher_binary());
  launcher::process::ProcessOptions options;
  options.working_dir = dir.path.string();
  extra_env.push_back("HOME=" + dir.path.string());
  options.extra_env = std::move(extra_env);
  options.timeout = std::chrono::seconds(60);
  return launcher::process::run_process(args, options);
}

// The one line of a failure, checked to be the whole of standard error.
void check_one_timeout_line(const launcher::process::ProcessResult& result, const std::string& call) {
  INFO(result.err);
  CHECK(result.exit_code == 1);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(contains(result.err, "launcher: error: `fake-docker " + call));
  CHECK(contains(result.err, "` timed out after 1 s (the engine does not answer); raise the limit with "
                             "LAUNCHER_DOCKER_TIMEOUT=SECONDS (0: none)\n"));
}

} // namespace

TEST_CASE("a Docker CLI that never answers ends ps, up and down at their limit with one line", "[engine-faults]") {
  TempDir dir;
  std::string docker = fake_docker(dir, "exec " + hang() + "\n");
  const std::vector<std::string> limit{"LAUNCHER_DOCKER_TIMEOUT=1"};
  check_one_timeout_line(run_bounded(dir, {"--docker", docker, "ps"}, limit), "ps -a --no-trunc");
  check_one_timeout_line(run_bounded(dir,
                                     {"--docker", docker, "up", "--profile", "shell", "--name", "hang-env", "--image",
                                      "none/image:1", "--gpus", "none", "--skip-checks", "--user", "root"},
                                     limit),
                         "ps -a -q --no-trunc");
  check_one_timeout_line(run_bounded(dir, {"--docker", docker, "down", "hang-env"}, limit), "ps -a -q --no-trunc");
  // Nothing of the fake is left running: its whole process group was ended.
  CHECK_FALSE(hang_left());
}

TEST_CASE("a bad LAUNCHER_DOCKER_TIMEOUT is a usage error naming it", "[engine-faults]") {
  TempDir dir;
  std::string docker = fake_docker(dir, "exit 0\n");
  auto result = run_bounded(dir, {"--docker", docker, "ps"}, {"LAUNCHER_DOCKER_TIMEOUT=soon"});
  CHECK(result.exit_code == 2);
  CHECK(result.err == "launcher: error: LAUNCHER_DOCKER_TIMEOUT: expected a whole number of seconds 0-86400 (0: no "
                      "limit), found \"soon\"\n");
}

TEST_CASE("a signal during up's first inspect removes the container and network that up made", "[engine-faults]") {
  int signal = GENERATE(SIGINT, SIGHUP, SIGTERM);
  TempDir dir;
  const std::string env = "sig-env";
  std::string marker = (dir.path / "inspected").string();
  std::string docker = fake_docker(dir, "case \"$*\" in\n"
                                        "  'ps '*) exit 0 ;;\n"
                                        "  'network inspect'*) echo 'Error: No such network' >&2; exit 1 ;;\n"
                                        "  'network create'*) echo n1; exit 0 ;;\n"
                                        "  'network rm'*) exit 0 ;;\n"
                                        "  'run '*) echo c0ffee; exit 0 ;;\n"
                                        "  'container inspect'*)\n"
                                        "    if [ ! -e '" +
                                            marker + "' ]; then : > '" + marker + "'; exec " + hang() +
                                            "; fi\n"
                                            "    echo '[{\"Name\": \"/" +
                                            env +
                                            "\", \"State\": {\"Running\": true}, \"Config\": {\"Labels\": "
                                            "{\"io.launcher.env\": \"" +
                                            env +
                                            "\"}}}]'; exit 0 ;;\n"
                                            "  'rm '*) exit 0 ;;\n"
                                            "  *) echo \"fake docker: no answer for $*\" >&2; exit 1 ;;\n"
                                            "esac\n");
  use_state_in(dir);
  std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  setenv("HOME", dir.path.c_str(), 1);
  std::vector<std::string> args{launcher_binary(), "--docker", docker,    "up",           "--profile", "shell",
                                "--name",          env,        "--image", "none/image:1", "--gpus",    "none",
                                "--skip-checks",   "--user",   "root"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::filesystem::path err = dir.path / "up.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addchdir_np(&actions, dir.path.c_str());
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  setenv("HOME", home.c_str(), 1);
  // Waits until `up` hangs in its first inspect, then signals it.
  bool inspecting = wait_until([&] { return std::filesystem::exists(marker); }, std::chrono::seconds(60));
  if (!inspecting) kill(pid, SIGKILL);
  REQUIRE(inspecting);
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string calls = read_text(dir.path / "calls.log");
  INFO(calls);
  INFO(read_text(err));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + signal);
  CHECK(read_text(err) == "launcher: error: interrupted by " + launcher::process::signal_name(signal) +
                              "; removed the container " + env + " and the network launcher-" + env +
                              " this `up` made\n");
  CHECK(contains(calls, "\nrm -f " + env + "\n"));
  CHECK(contains(calls, "\nnetwork rm launcher-" + env + "\n"));
  // The inspect the signal cut short was ended, not left behind.
  CHECK_FALSE(hang_left());
}
