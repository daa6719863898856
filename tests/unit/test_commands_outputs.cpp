// Issue 24: `export -o` targets that are not regular files are refused before anything is read or
// written; volumes "create" cannot make are named; `submit`'s count flags and --dry-run --json.
// The commands run in this process against a recording fake engine.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/app.hpp"
#include "command_bench.hpp"
#include "core/read_file.hpp"
#include "lifecycle/volumes.hpp"
#include "slurm/job.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::require_error;
using launcher::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string pinned = "unit/image@sha256:" + std::string(64, 'a');

// `export --format compose -o OUTPUT` of the shell profile: must be refused with exactly `message`.
void export_refused(Bench& bench, const std::string& output, const std::string& message) {
  int code = bench.run({"export", "--format", "compose", "-o", output, "--profile", "shell", "--gpus", "none",
                        "--image", "unit/image:1", "--name", "unit-env"});
  INFO(bench.err.str());
  CHECK(code == 2);
  CHECK(bench.err.str() == "launcher: error: command line (--output " + output + "): " + message + "\n");
  CHECK(bench.out.str().empty());
  // Refused before anything was made: no network, nothing asked of the engine at all.
  CHECK(bench.engine.asked().empty());
}

} // namespace

TEST_CASE("export -o refuses a FIFO, a device, a link to one and a directory, reading and writing nothing",
          "[commands][export][output]") {
  Bench bench;
  fs::path project = bench.dir.path / "project";
  REQUIRE(mkfifo((project / "pipe").c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", project / "zero");
  fs::create_directories(project / "folder");
  const std::string not_regular = ", not a regular file; export writes a file (or standard output without -o)";
  // A FIFO would block the comparison forever, /dev/zero would be read until memory runs out.
  export_refused(bench, "pipe", "is a FIFO" + not_regular);
  export_refused(bench, "zero", "is a link to /dev/zero, a character device" + not_regular);
  export_refused(bench, "folder", "is a directory" + not_regular);
  // Refused before a byte is written, so the device itself is safe to name.
  export_refused(bench, "/dev/full", "is a character device" + not_regular);
  CHECK(fs::is_fifo(project / "pipe"));
  CHECK(fs::is_symlink(project / "zero"));
}

TEST_CASE("export -o compares an existing regular file without reading one of another size",
          "[commands][export][output]") {
  Bench bench;
  fs::path project = bench.dir.path / "project";
  // Sparse: 8 GiB that read whole would exhaust memory; its size alone says it differs.
  {
    int fd = creat((project / "huge.yaml").c_str(), 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 8LL << 30) == 0);
    close(fd);
  }
  export_refused(bench, "huge.yaml", "the file exists and differs from this export; --force replaces it");
  CHECK(fs::file_size(project / "huge.yaml") == (8ULL << 30));
}

TEST_CASE("export -o through a link writes the file it points to, and the link stays", "[commands][export][output]") {
  Bench bench;
  fs::path project = bench.dir.path / "project";
  fs::create_directories(bench.dir.path / "dotfiles");
  fs::create_symlink(bench.dir.path / "dotfiles" / "compose.yaml", project / "compose.yaml");
  int code = bench.run({"export", "--format", "compose", "-o", "compose.yaml", "--profile", "shell", "--gpus", "none",
                        "--image", "unit/image:1", "--name", "unit-env"});
  INFO(bench.err.str());
  REQUIRE(code == 0);
  CHECK(fs::is_symlink(project / "compose.yaml"));
  CHECK(read_file(bench.dir.path / "dotfiles" / "compose.yaml").find("services:") != std::string::npos);
}

TEST_CASE("a volume directory that cannot be created is one line naming the volume", "[commands][output][volumes]") {
  TempDir dir;
  dir.write("file", "not a directory\n");
  plan::Plan plan;
  std::string blocked = (dir.path / "file" / "data").string();
  plan.create_directories = {blocked};
  plan.mounts = {{blocked, "/data", false}};
  require_error([&] { lifecycle::create_volume_directories(plan); }, ExitCode::failed,
                "cannot create the host directory of volume " + blocked + ":/data (\"create\": true): Not a directory");
  plan.create_directories = {(dir.path / "made" / "here").string()};
  lifecycle::create_volume_directories(plan);
  CHECK(fs::is_directory(dir.path / "made" / "here"));
}

TEST_CASE("submit's counts: an empty value is its own error, not 0", "[slurm][submit][output]") {
  require_error([] { slurm::parse_count_flag("--nodes", ""); }, ExitCode::usage,
                "command line (--nodes \"\"): the value is empty; expected a whole number, like --nodes 2");
  require_error([] { slurm::parse_count_flag("--nodes", "two"); }, ExitCode::usage,
                "command line (--nodes \"two\"): expected a whole number, like --nodes 2");
  require_error([] { slurm::parse_count_flag("--gpus-per-node", "2x"); }, ExitCode::usage,
                "command line (--gpus-per-node \"2x\"): expected a whole number, like --gpus-per-node 2");
  require_error([] { slurm::parse_count_flag("--nodes", "-"); }, ExitCode::usage,
                "command line (--nodes \"-\"): expected a whole number, like --nodes 2");
  require_error([] { slurm::parse_count_flag("--nodes", "99999999999999999999"); }, ExitCode::usage,
                "command line (--nodes \"99999999999999999999\"): expected a whole number of at most 1000000");
  CHECK(slurm::parse_count_flag("--nodes", "2") == 2);
  CHECK(slurm::parse_count_flag("--nodes", "+3") == 3);
  // The range is check_job_request's, which names the number.
  CHECK(slurm::parse_count_flag("--gpus-per-node", "-1") == -1);

  Bench bench;
  CHECK(bench.run({"submit", "--nodes", "", "--dry-run", "--image", pinned, "--", "train.py"}) == 2);
  CHECK(bench.err.str() ==
        "launcher: error: command line (--nodes \"\"): the value is empty; expected a whole number, like --nodes 2\n");
  CHECK(bench.run({"submit", "--nodes", "0", "--dry-run", "--image", pinned, "--", "train.py"}) == 2);
  CHECK(bench.err.str() == "launcher: error: command line (--nodes 0): a job needs at least 1 node\n");
}

TEST_CASE("submit --dry-run --json prints the job, its script and its plan as one JSON object",
          "[slurm][submit][output]") {
  Bench bench;
  REQUIRE(bench.run({"submit", "--nodes", "2", "--dry-run", "--image", pinned, "--", "train.py", "--epochs", "3"}) ==
          0);
  std::string script = bench.out.str();
  REQUIRE(script.rfind("#!", 0) == 0);

  int code = bench.run(
      {"submit", "--nodes", "2", "--dry-run", "--json", "--image", pinned, "--", "train.py", "--epochs", "3"});
  INFO(bench.err.str());
  REQUIRE(code == 0);
  json printed = json::parse(bench.out.str());
  CHECK(printed["dry_run"] == true);
  CHECK(printed["nodes"] == 2);
  CHECK(printed["gpus_per_node"] == 0);
  CHECK(printed["processes_per_node"] == 1);
  CHECK(printed["runtime"] == "docker");
  CHECK(printed["image"] == pinned);
  CHECK(printed["script"] == script);
  CHECK(printed["plan"]["command"] == json::array({"train.py", "--epochs", "3"}));
  CHECK(printed["name"].get<std::string>().empty() == false);
  CHECK(bench.engine.asked().empty());
}

TEST_CASE("submit refuses GPUs asked for the host's way, naming --gpus-per-node", "[slurm][submit][output]") {
  Bench bench;
  CHECK(bench.run({"submit", "--nodes", "2", "--dry-run", "--image", pinned, "--gpus", "2", "--", "train.py"}) == 2);
  CHECK(bench.err.str() == "launcher: error: command line (--gpus 2): a Slurm job's GPUs come from its allocation on "
                           "each node, not from \"gpus\" or --gpus: use --gpus-per-node N\n");
  bench.dir.write("project/launcher.json",
                  R"({"version": 1, "profiles": {"train": {"extends": "shell", "gpus": "device=0,1"}}})");
  CHECK(bench.run({"submit", "--profile", "train", "--nodes", "2", "--dry-run", "--image", pinned, "--", "train.py"}) ==
        2);
  CHECK_THAT(bench.err.str(), Catch::Contains("launcher.json:/profiles/train/gpus: a Slurm job's GPUs come from its "
                                              "allocation on each node, not from \"gpus\" or --gpus: use "
                                              "--gpus-per-node N"));
  for (const char* allowed : {"none", "auto"}) {
    CHECK(bench.run({"submit", "--nodes", "2", "--dry-run", "--image", pinned, "--gpus", allowed, "--", "t.py"}) == 0);
  }
}

TEST_CASE("submit takes a leading python out of the command, and refuses Python's own flags",
          "[slurm][submit][output]") {
  Bench bench;
  REQUIRE(bench.run({"submit", "--nodes", "2", "--dry-run", "--json", "--image", pinned, "--", "python3", "train.py",
                     "--epochs", "3"}) == 0);
  CHECK(json::parse(bench.out.str())["plan"]["command"] == json::array({"train.py", "--epochs", "3"}));
  CHECK(bench.err.str() ==
        "launcher: warning: torchrun runs the script with Python itself: \"python3\" was taken out of the command\n");
  REQUIRE(bench.run({"submit", "--nodes", "2", "--dry-run", "--json", "--image", pinned, "--", "python", "-m",
                     "team.train"}) == 0);
  CHECK(json::parse(bench.out.str())["plan"]["command"] == json::array({"-m", "team.train"}));
  CHECK(bench.run({"submit", "--nodes", "2", "--dry-run", "--image", pinned, "--", "python3.11", "-u", "train.py"}) ==
        2);
  CHECK(bench.err.str() == "launcher: error: command line (-- python3.11 -u): torchrun runs the script with its own "
                           "Python, which takes no flags from the command; give the script first, like -- train.py "
                           "(for -u: -e PYTHONUNBUFFERED=1)\n");
  // A script merely named like Python is kept.
  std::vector<std::string> command{"python_job.py"};
  CHECK(slurm::take_out_python(command).empty());
  CHECK(command == std::vector<std::string>{"python_job.py"});
}
