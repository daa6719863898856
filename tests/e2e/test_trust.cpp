// A team file is code (issue 25): the attacks of the review, run against the real binary. Each
// failed on the launcher before the fix: the planted file was obeyed (its "/" mount rendered), and
// the file rewritten from inside an env passed `up --dry-run` with "sudo" and the Docker socket.
#include <sys/stat.h>

#include <fstream>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// The launcher run in `cwd` (inside `dir`), with state, config and home inside `dir`.
launcher::process::ProcessResult run_in(const TempDir& dir, const fs::path& cwd, std::vector<std::string> args) {
  use_state_in(dir);
  args.insert(args.begin(), launcher_binary());
  launcher::process::ProcessOptions options;
  options.working_dir = cwd.string();
  options.extra_env = {"HOME=" + (dir.path / "home").string()};
  return launcher::process::run_process(args, options);
}

std::string last_line(const std::string& text) {
  std::string trimmed = text.substr(0, text.find_last_not_of('\n') + 1);
  return trimmed.substr(trimmed.rfind('\n') == std::string::npos ? 0 : trimmed.rfind('\n') + 1);
}

std::size_t line_count(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

const char* widening_team_file =
    R"({"version": 1, "profiles": {"dev": {"extends": "shell", "gpus": "none", "sudo": true}}})";

} // namespace

TEST_CASE("trust: a launcher.json planted in a world-writable parent is ignored, with a warning", "[e2e][trust]") {
  require_engine();
  TempDir dir;
  fs::path shared = dir.path / "shared";
  fs::path project = shared / "project";
  fs::create_directories(project);
  fs::create_directories(dir.path / "home");
  REQUIRE(chmod(shared.c_str(), 01777) == 0); // like /tmp or /scratch
  // What mallory leaves there: the host's / mounted, with the opt-in that lets it in.
  dir.write("shared/launcher.json",
            R"({"version": 1, "profiles": {"jupyter": {"allow": ["mount-root"], "sudo": true,
                "volumes": [{"host": "/", "container": "/host"}]}}})");

  auto result =
      run_in(dir, project, {"up", "--dry-run", "--profile", "jupyter", "--gpus", "none", "--image", base_image()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("dst=/host") == std::string::npos);
  CHECK(result.out.find("src=/,") == std::string::npos);
  CHECK(result.out.find("--mount type=bind,src=" + project.string() + ",dst=/workspace") != std::string::npos);
  std::string warning = "launcher: warning: not using " + (shared / "launcher.json").string() +
                        ": the search for a team file stops at " + shared.string() +
                        ", which is writable by every user (mode 1777), so another user could have put it there\n";
  CHECK(result.err.find(warning) != std::string::npos);
  CHECK(result.err.find(warning) == result.err.rfind(warning)); // once

  // The project's own file, below the shared directory, is used as before.
  dir.write("shared/project/launcher.json", R"({"version": 1, "profiles": {"mine": {"extends": "shell"}}})");
  auto listed = run_in(dir, project, {"profiles"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("team file: " + (project / "launcher.json").string() +
                        " (widens nothing (no approval needed))\n") == 0);
  CHECK(listed.err.empty());
}

TEST_CASE("trust: launcher trust approves a file's content, and a change needs approval again", "[e2e][trust]") {
  require_engine();
  TempDir dir;
  fs::create_directories(dir.path / "home");
  dir.write("launcher.json", widening_team_file);
  std::string file = (dir.path / "launcher.json").string();
  std::vector<std::string> dry_run{"up", "--dry-run", "--profile", "dev", "--image", base_image()};
  std::string refusal =
      "launcher: error: " + file +
      ":/profiles/dev/sudo: \"sudo\": true (root inside the env): this team file is not approved "
      "(new, changed since it was, or widening more than it did then); read it, then approve it with `launcher trust " +
      file + "`\n";

  auto refused = run_in(dir, dir.path, dry_run);
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  CHECK(without_warnings(refused.err) == refusal);
  CHECK(
      without_warnings(
          run_in(dir, dir.path, {"export", "--format", "compose", "--profile", "dev", "--image", base_image()}).err) ==
      refusal);

  // render previews it, and says the file is not approved.
  auto rendered = run_in(dir, dir.path, {"render", "--profile", "dev", "--image", base_image()});
  REQUIRE(rendered.exit_code == 0);
  CHECK(rendered.out.find("docker run") == 0);
  CHECK(rendered.err.find("launcher: warning: the team file " + file +
                          " is not approved and widens what an env may do (" + file +
                          ":/profiles/dev/sudo: \"sudo\": true (root inside the env)); `up` refuses it until "
                          "`launcher trust " +
                          file + "`\n") != std::string::npos);
  json preview =
      json::parse(run_in(dir, dir.path, {"render", "--json", "--profile", "dev", "--image", base_image()}).out);
  CHECK(preview["team_file"]["path"] == file);
  CHECK(preview["team_file"]["approved"] == false);
  CHECK(preview["team_file"]["needs_approval"] == true);
  CHECK(preview["team_file"]["widens"] ==
        json{{{"key", file + ":/profiles/dev/sudo"}, {"what", "\"sudo\": true (root inside the env)"}}});
  auto listed = run_in(dir, dir.path, {"profiles"});
  CHECK(listed.out.find("team file: " + file +
                        " (not approved: widens what an env may do (/profiles/dev/sudo); `launcher trust` approves "
                        "it)\n") == 0);

  // launcher trust shows what it approves, then records it in the user's own state.
  auto trusted = run_in(dir, dir.path, {"trust"});
  INFO(trusted.err);
  REQUIRE(trusted.exit_code == 0);
  CHECK(trusted.out.find(file +
                         " widens what an env may do:\n  /profiles/dev/sudo: \"sudo\": true (root inside the "
                         "env)\napproved this content of " +
                         file) == 0);
  fs::path record = dir.path / ".state/launcher/trusted-files.json";
  struct stat info {};
  REQUIRE(stat(record.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);

  auto passed = run_in(dir, dir.path, dry_run);
  INFO(passed.err);
  CHECK(passed.exit_code == 0);
  CHECK(passed.out.find("docker run") != std::string::npos);
  json approved =
      json::parse(run_in(dir, dir.path, {"render", "--json", "--profile", "dev", "--image", base_image()}).out);
  CHECK(approved["team_file"]["approved"] == true);
  CHECK(run_in(dir, dir.path, {"profiles"}).out.find("team file: " + file + " (approved)\n") == 0);

  // One byte more is another file: refused again, until approved again (by name this time).
  std::ofstream(dir.path / "launcher.json", std::ios::app) << "\n";
  CHECK(without_warnings(run_in(dir, dir.path, dry_run).err) == refusal);
  REQUIRE(run_in(dir, dir.path, {"trust", "launcher.json"}).exit_code == 0);
  CHECK(run_in(dir, dir.path, dry_run).exit_code == 0);

  // A file the launcher never uses as a team file cannot be approved.
  dir.write("other.json", widening_team_file);
  auto other = run_in(dir, dir.path, {"trust", "other.json"});
  CHECK(other.exit_code == 2);
  CHECK(other.err == "launcher: error: not approving " + (dir.path / "other.json").string() +
                         ", which the launcher never uses as a team file: from " + dir.path.string() +
                         " the team file is " + file + "\n");
}

TEST_CASE("trust: a team file rewritten from inside an env is a changed file: up refuses it",
          "[e2e][trust][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  fs::create_directories(dir.path / "home");
  // The team's file widens something, and the user approved it.
  dir.write("launcher.json", widening_team_file);
  std::string file = (dir.path / "launcher.json").string();
  // (A CHECK: the launcher before `trust` existed goes on, so the attack itself is what fails there.)
  CHECK(run_in(dir, dir.path, {"trust"}).exit_code == 0);

  std::string name = unique_name("trust");
  UpEnvironment env{dir, name};
  auto started =
      run_in(dir, dir.path,
             {"up", "--json", "--profile", "dev", "--name", name, "--image", lifecycle_image(), "--timeout", "180"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  // Code in the env (a notebook, a package's install script) rewrites the mounted team file.
  std::string rewritten = R"({"version": 1, "profiles": {"dev": {"extends": "shell", "gpus": "none", "sudo": true,)"
                          R"( "allow": ["mount-docker-socket"],)"
                          R"( "volumes": [{"host": "/var/run/docker.sock", "container": "/var/run/docker.sock"}]}}})";
  std::string user = std::to_string(getuid()) + ":" + std::to_string(getgid());
  auto wrote = launcher::process::run_process({docker(), "exec", "-u", user, name, "sh", "-c",
                                               "printf '%s\\n' \"$1\" > /workspace/launcher.json", "sh", rewritten});
  INFO(wrote.err);
  REQUIRE(wrote.exit_code == 0);
  std::ifstream read_back(file);
  std::string text((std::istreambuf_iterator<char>(read_back)), std::istreambuf_iterator<char>());
  REQUIRE(text == rewritten + "\n");

  auto refused = run_in(
      dir, dir.path, {"up", "--dry-run", "--profile", "dev", "--name", name + "-next", "--image", lifecycle_image()});
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  CHECK(line_count(without_warnings(refused.err)) == 1);
  CHECK(last_line(refused.err) ==
        "launcher: error: " + file +
            ":/profiles/dev/allow/0: \"allow\" opts in to \"mount-docker-socket\" (and 3 more value(s) that widen what "
            "an env may do): this team file is not approved (new, changed since it was, or widening more than it did "
            "then); read it, then approve it "
            "with `launcher trust " +
            file + "`");
  // The record the env could not reach still holds the approved content only.
  CHECK(run_in(dir, dir.path, {"render", "--json", "--profile", "dev", "--image", lifecycle_image()})
            .out.find("\"needs_approval\": true") != std::string::npos);
}

TEST_CASE("trust: an approved file whose mounted directory becomes a link out of the project is refused",
          "[e2e][trust]") {
  require_engine();
  TempDir dir;
  fs::path project = dir.path / "project";
  fs::create_directories(project / "data");
  fs::create_directories(dir.path / "home/.ssh");
  dir.write("project/launcher.json", R"({"version": 1, "profiles": {"dev": {"extends": "shell", "gpus": "none",
      "sudo": true, "volumes": [{"host": "./data", "container": "/data"}]}}})");
  std::vector<std::string> dry_run{"up", "--dry-run", "--profile", "dev", "--image", base_image()};
  REQUIRE(run_in(dir, project, {"trust"}).exit_code == 0);
  REQUIRE(run_in(dir, project, dry_run).exit_code == 0);

  // What code in the env can do through the mounted workspace: same bytes in launcher.json, but
  // ./data now leads to the user's ~/.ssh.
  fs::remove(project / "data");
  fs::create_directory_symlink(dir.path / "home/.ssh", project / "data");
  auto refused = run_in(dir, project, dry_run);
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  std::string file = (project / "launcher.json").string();
  CHECK(without_warnings(refused.err) ==
        "launcher: error: " + file + ":/profiles/dev/volumes/0: mounts " + (project / "data").string() + " -> " +
            (dir.path / "home/.ssh").string() + ", outside the project directory " + project.string() +
            " (and 1 more value(s) that widen what an env may do): this team file is not approved (new, changed "
            "since it was, or widening more than it did then); read it, then approve it with `launcher trust " +
            file + "`\n");
}

TEST_CASE("trust: a team file rewritten to take a variable of the launcher's environment is refused", "[e2e][trust]") {
  require_engine();
  TempDir dir;
  fs::create_directories(dir.path / "home");
  dir.write("launcher.json", R"({"version": 1, "profiles": {"dev": {"extends": "shell", "gpus": "none"}}})");
  std::vector<std::string> dry_run{"up", "--dry-run", "--profile", "dev", "--image", base_image()};
  REQUIRE(run_in(dir, dir.path, dry_run).exit_code == 0);
  // What code in the env could write into the mounted workspace: the user's cloud key, handed over.
  dir.write("launcher.json", R"({"version": 1, "profiles": {"dev": {"extends": "shell", "gpus": "none",
      "env": {"STOLEN": "${AWS_SECRET_ACCESS_KEY:-}"}}}})");
  auto refused = run_in(dir, dir.path, dry_run);
  CHECK(refused.exit_code == 2);
  CHECK(refused.out.empty());
  std::string file = (dir.path / "launcher.json").string();
  CHECK(without_warnings(refused.err) ==
        "launcher: error: " + file +
            ":/profiles/dev/env/STOLEN: takes the launcher's environment variable AWS_SECRET_ACCESS_KEY "
            "(${AWS_SECRET_ACCESS_KEY}) into the env: this team file is not approved (new, changed since it was, or "
            "widening more than it did then); read it, then approve it with `launcher trust " +
            file + "`\n");
}
