// The profile's env values on their way into docker run (issue 25): never an argument, only in a
// 0600 file in the env's state directory while the engine's `run` reads it.
#include <sys/stat.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "core/read_file.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::contains;
using launcher::testing::env;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string typed = "typed-s3cr3t-4711";
const std::string from_environment = "environment-s3cr3t-0815";

// The command the engine was asked to run, and what its env file held, and its mode, at that moment.
struct SeenAtRun {
  std::vector<std::string> argv;
  std::string path, text;
  mode_t mode = 0;
};

// Each `run` of the bench's fake engine: its env file is read as the engine is asked.
void watch_runs(Bench& bench, SeenAtRun& seen) {
  bench.engine.on_asked([&bench, &seen](const std::string& asked) {
    if (asked.rfind("run ", 0) != 0) return;
    auto rendered = bench.engine.rendered().back();
    seen.argv = rendered.command.argv();
    seen.path = rendered.env_file;
    struct stat info {};
    if (stat(seen.path.c_str(), &info) == 0) seen.mode = info.st_mode & 07777;
    seen.text = read_file_if_present(seen.path).value_or("(gone)");
  });
}

struct EnvironmentVariable {
  std::string name;
  EnvironmentVariable(std::string variable, const std::string& value) : name(std::move(variable)) {
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvironmentVariable() { unsetenv(name.c_str()); }
};

} // namespace

TEST_CASE("up hands the env's values to docker run in a 0600 file, never as an argument, and removes it",
          "[commands][up][env]") {
  EnvironmentVariable variable("UNIT_FROM_ENVIRONMENT", from_environment);
  Bench bench;
  const std::vector<std::string> flags{"-e", "TYPED=" + typed, "-e", "UNIT_FROM_ENVIRONMENT"};
  std::string hash = bench.plan_hash(flags);
  SeenAtRun seen;
  watch_runs(bench, seen);
  bench.engine.run_makes(Bench::container_of(hash, true));
  REQUIRE(bench.up(flags) == 0);
  INFO(bench.err.str());
  REQUIRE(!seen.argv.empty());
  for (const auto& arg : seen.argv) {
    CHECK(!contains(arg, typed));
    CHECK(!contains(arg, from_environment));
  }
  fs::path expected = bench.dir.path / "state" / "launcher" / "envs" / env / "run.env";
  CHECK(seen.path == expected.string());
  CHECK(seen.text == "TYPED=" + typed + "\nUNIT_FROM_ENVIRONMENT=" + from_environment + "\n");
  CHECK(seen.mode == 0600);
  CHECK(!fs::exists(expected));
}

TEST_CASE("the env file goes when docker run fails too", "[commands][up][env]") {
  Bench bench;
  SeenAtRun seen;
  watch_runs(bench, seen);
  bench.engine.run_fails("docker: Error response from daemon: something broke.\n");
  bench.engine.add_image(testing::image, {{"Id", "sha256:1"}});
  CHECK(bench.up({"-e", "TYPED=" + typed}) != 0);
  CHECK(seen.text == "TYPED=" + typed + "\n");
  CHECK(!fs::exists(seen.path));
}

TEST_CASE("render and up --dry-run name the env's variables and print no value", "[commands][render][env]") {
  Bench bench;
  for (const char* command : {"render", "up"}) {
    std::vector<std::string> args{command,  "--profile", "shell", "--name",        env, "--image", testing::image,
                                  "--gpus", "none",      "-e",    "TYPED=" + typed};
    if (std::string(command) == "up") args.push_back("--dry-run");
    REQUIRE(bench.run(args) == 0);
    INFO(bench.out.str());
    CHECK(!contains(bench.out.str(), typed));
    CHECK(contains(bench.out.str(), "# --env-file holds the values of TYPED (written with mode 0600 by `launcher up` "
                                    "and removed once docker run has read it)\n"));
    CHECK(
        contains(bench.out.str(), "--env-file " + (bench.dir.path / "state/launcher/envs" / env / "run.env").string()));
  }
  // --json keeps the values in the plan (the user's own output, and what the hash is taken of), not in argv.
  REQUIRE(bench.run({"render", "--json", "--profile", "shell", "--name", env, "--image", testing::image, "--gpus",
                     "none", "-e", "TYPED=" + typed}) == 0);
  json rendered = json::parse(bench.out.str());
  CHECK(rendered["plan"]["environment"]["TYPED"] == typed);
  for (const auto& arg : rendered["argv"])
    CHECK(!contains(arg.get<std::string>(), typed));
}

TEST_CASE("the flags -e, -p and -v take one value each, so the command after -- is the job's",
          "[commands][submit][env]") {
  Bench bench;
  const std::string pinned = "unit/image@sha256:" + std::string(64, 'a');
  int status = bench.run({"submit", "--dry-run", "--nodes", "1", "--image", pinned, "-e", "TYPED=" + typed, "--",
                          "train.py", "--epochs", "3"});
  INFO(bench.out.str() << bench.err.str());
  REQUIRE(status == 0);
  CHECK(contains(bench.out.str(), "train.py --epochs 3"));
  CHECK(!contains(bench.out.str(), typed));
  // A second value after one -e is not taken as another variable.
  CHECK(bench.run({"render", "--profile", "shell", "--image", testing::image, "--gpus", "none", "-e", "A=1", "B=2"}) ==
        2);
  CHECK(contains(bench.err.str(), "B=2"));
}
