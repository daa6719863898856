// Issue 18: each input that used to abort the binary (exit 134) or crash it (exit 139) ends with
// one line, "launcher: error: ...", and an ordinary exit status. No Docker engine needed: Docker's
// output comes from a fake CLI given with --docker, nvidia-smi's from a --facts directory.
#include <sys/stat.h>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

const std::string not_utf8 = " is not UTF-8 (Docker's API would replace those bytes with U+FFFD)";

// A script standing in for the Docker CLI: `case` patterns on its arguments, each printing a reply.
fs::path fake_docker(const TempDir& dir, const std::string& cases) {
  fs::path script = dir.path / "fake-docker";
  dir.write("fake-docker", "#!/bin/sh\ncase \"$*\" in\n" + cases + "\n*) exit 1 ;;\nesac\n");
  chmod(script.c_str(), 0755);
  return script;
}

void require_one_line_error(const launcher::process::ProcessResult& result, int exit_code, const std::string& message) {
  INFO(result.out << result.err);
  CHECK(result.exit_code == exit_code);
  CHECK(result.err == "launcher: error: " + message + "\n");
}

} // namespace

TEST_CASE("a number beyond a double in a profile exits 2 naming file, line and column", "[e2e][cli][bad-input]") {
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"big": {"shm_size": 1e400}}})");
  require_one_line_error(run_launcher(dir, {"render", "--profile", "big"}), 2,
                         (dir.path / "launcher.json").string() +
                             ":1:53: number overflow parsing '1e400' (numbers must fit in a double)");
}

TEST_CASE("flags that are not UTF-8 exit 2, shown escaped", "[e2e][cli][bad-input]") {
  TempDir dir;
  require_one_line_error(run_launcher(dir, {"render", "--gpus", "a\xff"}), 2,
                         "command line (--gpus a\\xff):/gpus: \"a\\xff\"" + not_utf8);
  require_one_line_error(run_launcher(dir, {"render", "-e", "A=\xff"}), 2,
                         "command line (--env A=\\xff):/env/A: \"\\xff\"" + not_utf8);
}

TEST_CASE("a ${VAR} that is not UTF-8 exits 2 naming the variable", "[e2e][cli][bad-input]") {
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"dev": {"image": "${B}"}}})");
  require_one_line_error(run_launcher(dir, {"render", "--profile", "dev"}, {"B=\x81ll"}), 2,
                         (dir.path / "launcher.json").string() +
                             ":/profiles/dev/image: variable B holds \"\\x81ll\", which" + not_utf8);
}

TEST_CASE("the example team file with a data directory named in Latin-1 exits 2", "[e2e][cli][bad-input]") {
  TempDir dir;
  fs::copy_file(fs::path(source_dir()) / "examples/profiles/launcher.json", dir.path / "launcher.json");
  require_one_line_error(run_launcher(dir, {"render", "--profile", "lab"},
                                      {"DATASETS=/srv/donn\xe9"
                                       "es"}),
                         2,
                         (dir.path / "launcher.json").string() +
                             ":/profiles/lab/volumes/0/host: variable DATASETS holds "
                             "\"/srv/donn\\xe9es\", which" +
                             not_utf8);
  // The same file in a directory whose own name is Latin-1: its relative paths would be too.
  fs::path latin1 = dir.path / "donn\xe9"
                               "es";
  fs::create_directories(latin1);
  dir.write(
      "donn\xe9"
      "es/launcher.json",
      R"({"version": 1, "profiles": {"dev": {"volumes": [{"host": "data", "container": "/data", "create": true}]}}})");
  launcher::process::ProcessOptions options;
  options.working_dir = latin1.string();
  use_state_in(dir);
  auto result = launcher::process::run_process({launcher_binary(), "render", "--profile", "dev"}, options);
  std::string file = (dir.path / "donn\\xe9es/launcher.json").string();
  require_one_line_error(result, 2,
                         file + ":/profiles/dev/volumes/0: host path \"" + (dir.path / "donn\\xe9es/data").string() +
                             "\"" + not_utf8);
}

TEST_CASE("a GPU list of 200000 digits exits 2 with the GPU list's limit", "[e2e][cli][bad-input]") {
  TempDir dir;
  std::string list = "0:" + std::string(200000, '7');
  dir.write("launcher.json", R"({"version": 1, "profiles": {"many": {"gpus": ")" + list + R"("}}})");
  auto file = run_launcher(dir, {"render", "--profile", "many"});
  INFO(file.err.substr(0, 300));
  CHECK(file.exit_code == 2);
  CHECK(file.err.rfind("launcher: error: " + (dir.path / "launcher.json").string() + ":/profiles/many/gpus: expected ",
                       0) == 0);
  CHECK(file.err.find(" (a GPU list is at most 4096 characters, found 200002)\n") != std::string::npos);
  // Linux refuses a single argument over 128 KiB (E2BIG), so the flag is tried with 100000 digits.
  TempDir empty;
  auto flag = run_launcher(empty, {"render", "--gpus", "0:" + std::string(100000, '7')});
  CHECK(flag.exit_code == 2);
  CHECK(flag.err.find(" (a GPU list is at most 4096 characters, found 100002)\n") != std::string::npos);
}

TEST_CASE("garbage from docker ps and docker inspect exits 1 naming the command and the field",
          "[e2e][cli][bad-input]") {
  TempDir dir;
  fs::path docker = fake_docker(dir, R"(ps\ -a\ --no-trunc*) echo '{"name": "lab", "state": "running"}' ;;
ps\ -a\ -q*) echo 0123abcd ;;
container\ inspect\ 0123abcd) echo '[{"Name": "/lab", "NetworkSettings": {"Ports": {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": 8888}]}}}]' ;;)");
  require_one_line_error(run_launcher(dir, {"--docker", docker.string(), "ps"}), 1,
                         "`docker ps` printed unexpected JSON: /image is missing");
  require_one_line_error(
      run_launcher(dir, {"--docker", docker.string(), "open", "lab"}), 1,
      "`docker container inspect` printed unexpected JSON: /NetworkSettings/Ports/8888~1tcp/0/HostPort: "
      "expected a string, found 8888");
  fs::path not_json = fake_docker(dir, R"(ps\ *) echo 'Error: not JSON' ;;)");
  require_one_line_error(
      run_launcher(dir, {"--docker", not_json.string(), "ps"}), 1,
      "`docker ps` printed no readable JSON: parse error at line 1, column 1: syntax error while parsing "
      "value - invalid literal; last read: 'E'; output starts with \"Error: not JSON\"");
}

namespace {

// doctor --json's row of this check.
json check_row(const std::string& report, const std::string& id) {
  json parsed = json::parse(report);
  for (const auto& check : parsed["checks"])
    if (check["id"] == id) return check;
  return nullptr;
}

} // namespace

TEST_CASE("doctor reports garbage from docker as a FAIL row naming the field", "[e2e][doctor][bad-input]") {
  TempDir dir;
  fs::path docker =
      fake_docker(dir, R"(version\ *) echo '{"Client": {"Version": "28.2.2"}, "Server": {"Version": 28}}' ;;
info\ *) echo '{"ServerVersion": "28.2.2", "Runtimes": []}' ;;
image\ inspect\ *) echo '{"io.launcher.torch": 2}' ;;)");
  auto result = run_launcher(dir, {"--docker", docker.string(), "doctor", "--gpus", "none", "--json"});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 3);
  json docker_row = check_row(result.out, "docker");
  CHECK(docker_row["status"] == "FAIL");
  CHECK(docker_row["message"] == "docker fails: `docker version` printed unexpected JSON: /Server/Version: expected a "
                                 "string, found 28");
  json image_row = check_row(result.out, "image");
  CHECK(image_row["status"] == "WARN");
  CHECK(image_row["message"].get<std::string>().find(": `docker image inspect` printed unexpected JSON: "
                                                     "/io.launcher.torch: expected a string, found 2") !=
        std::string::npos);
  CHECK(result.err == "launcher: error: 1 check failed\n");
}

TEST_CASE("doctor does not call a garbage nvidia-smi table healthy", "[e2e][doctor][bad-input]") {
  TempDir dir;
  dir.write("facts/proc-driver-nvidia-version.txt",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 2024\n");
  dir.write("facts/nvidia-smi-query-gpu.csv", "0, garbage, x, x, x, 18446744073709551616, x, x, x, x, x, x, x\n");
  auto result = run_launcher(dir, {"doctor", "--facts", (dir.path / "facts").string(), "--gpus", "all", "--json"});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 3);
  std::string problem = "nvidia-smi --query-gpu line 1: uuid: expected a GPU UUID (GPU-...), found \"garbage\"";
  CHECK(check_row(result.out, "driver") == json{{"id", "driver"},
                                                {"status", "WARN"},
                                                {"message", "NVIDIA driver 550.54.15, but " + problem},
                                                {"fix", "run nvidia-smi to see what fails"}});
  json gpus_row = check_row(result.out, "gpus");
  CHECK(gpus_row["status"] == "FAIL");
  CHECK(gpus_row["message"] == "the profile asks for every GPU, and the driver lists none: " + problem);
}

// --- issue 24: profile and team files that are huge, deep, or not files at all -----------------

namespace {

// The launcher in `dir` with HOME and XDG_* inside it, killed after 60 s: a test of something
// that used to hang must not hang itself (exit 137 then says it did).
launcher::process::ProcessResult bounded_launcher(const TempDir& dir, std::vector<std::string> args) {
  use_state_in(dir);
  args.insert(args.begin(), {"timeout", "-s", "KILL", "60", launcher_binary()});
  launcher::process::ProcessOptions options;
  options.working_dir = dir.path.string();
  options.extra_env = {"HOME=" + (dir.path / "home").string()};
  fs::create_directories(dir.path / "home");
  return launcher::process::run_process(args, options);
}

} // namespace

TEST_CASE("a team file with an extends chain of 15 000 profiles exits 2 with one line", "[e2e][cli][bad-input]") {
  TempDir dir;
  std::string text = R"({"version": 1, "profiles": {)";
  for (int i = 0; i < 15000; ++i)
    text += (i ? ", " : "") + ("\"p" + std::to_string(i) + "\": {") +
            (i + 1 < 15000 ? "\"extends\": \"p" + std::to_string(i + 1) + "\"" : "") + "}";
  dir.write("launcher.json", text + "}}");
  std::string file = (dir.path / "launcher.json").string();
  require_one_line_error(bounded_launcher(dir, {"render", "--profile", "p0"}), 2,
                         file + ":/profiles/p0/extends: an extends chain deeper than 64 levels: p0 -> p1 -> p2 -> "
                                "... -> p14999 (14999 levels)");
  // `profiles` lists every one, each with its own error or description.
  auto list = bounded_launcher(dir, {"profiles", "--json"});
  REQUIRE(list.exit_code == 0);
  json listed = json::parse(list.out);
  CHECK(listed.size() == 15003);
  std::size_t errors = 0;
  for (const auto& entry : listed)
    errors += entry.contains("error") ? 1 : 0;
  CHECK(errors == 15000 - 65);
}

TEST_CASE("a user profiles.json that is a FIFO or /dev/zero exits 1 at once and names it", "[e2e][cli][bad-input]") {
  TempDir dir;
  fs::path user = dir.path / ".config/launcher/profiles.json";
  fs::create_directories(user.parent_path());
  REQUIRE(mkfifo(user.c_str(), 0600) == 0); // no writer: reading it would block forever
  require_one_line_error(bounded_launcher(dir, {"render"}), 1,
                         "failed to read: " + user.string() + ": is a FIFO, not a regular file");
  fs::remove(user);
  fs::create_symlink("/dev/zero", user); // reading it would never end
  require_one_line_error(bounded_launcher(dir, {"render"}), 1,
                         "failed to read: " + user.string() + ": is a character device, not a regular file");
  fs::remove(user);
  fs::create_directory(user);
  require_one_line_error(bounded_launcher(dir, {"profiles"}), 1,
                         "failed to read: " + user.string() + ": is a directory, not a regular file");
}

TEST_CASE("a team launcher.json that is a dangling link exits 1 naming it instead of using the parent file",
          "[e2e][cli][bad-input]") {
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"parent": {}}})");
  fs::create_directories(dir.path / "repo");
  fs::create_symlink(dir.path / "repo/moved.json", dir.path / "repo/launcher.json");
  launcher::process::ProcessOptions options;
  options.working_dir = (dir.path / "repo").string();
  options.extra_env = {"HOME=" + dir.path.string()};
  use_state_in(dir);
  auto result = launcher::process::run_process(
      {"timeout", "-s", "KILL", "60", launcher_binary(), "render", "--profile", "parent"}, options);
  require_one_line_error(result, 1,
                         "failed to read: " + (dir.path / "repo/launcher.json").string() + ": is a symbolic link to " +
                             (dir.path / "repo/moved.json").string() + ", which does not exist");
}

TEST_CASE("a duplicate key in a team file exits 2 naming it and both lines", "[e2e][cli][bad-input]") {
  TempDir dir;
  dir.write("launcher.json", "{\"version\": 1,\n \"profiles\": {\"a1\": {}},\n \"profiles\": {\"b1\": {}}}");
  require_one_line_error(bounded_launcher(dir, {"render", "--profile", "b1"}), 2,
                         (dir.path / "launcher.json").string() +
                             ":3:2: duplicate key \"profiles\" at the top level (first at line 2, again at line 3); "
                             "JSON keeps only one of them, so write it once");
}
