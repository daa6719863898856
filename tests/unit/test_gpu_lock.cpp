#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "doctor_fixtures.hpp"
#include "gpu/lock.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::inventory_of;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {


std::string read_text(const fs::path& path) {
  std::ifstream stream(path);
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

// Every container exists: holders stay unless a test says otherwise.
const gpu::HolderProbe all_alive{[](const std::string&) { return true; }, [](long) { return true; }};

const gpu::GpuInventory a100s = inventory_of("gpu/4x-a100-sxm4-80gb-driver-550");
const gpu::GpuHolder alice{"alice-jupyter", 1000, "alice", 4100};
const gpu::GpuHolder bob{"bob-train", 1001, "bob", 4300};

} // namespace

TEST_CASE("a reservation is recorded, kept by the same env and released on down", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  auto first = gpu::reserve_gpus(file, a100s, alice, 1, all_alive);
  REQUIRE(first.size() == 1);
  CHECK(first[0].index == 1);
  CHECK(nlohmann::json::parse(read_text(file)) ==
        nlohmann::json::parse(R"({"version": 1, "gpus": {"GPU-2c8f5dab-4063-4e9f-ab72-1d306e8f9b21":
          {"env": "alice-jupyter", "uid": 1000, "user": "alice", "pid": 4100}}})"));
  CHECK(gpu::reserve_gpus(file, a100s, bob, 1, all_alive).at(0).index == 3);
  CHECK(gpu::reserve_gpus(file, a100s, alice, 1, all_alive).at(0).index == 1);
  gpu::release_gpus(file, "alice-jupyter");
  CHECK(gpu::reserve_gpus(file, a100s, {"carol-dev", 1002, "carol", 4500}, 1, all_alive).at(0).index == 1);
}

TEST_CASE("a holder whose container is gone and whose up has exited is recovered", "[gpu][lock]") {
  gpu::HolderTable holders{{"GPU-a", bob}, {"GPU-b", {"dave-old", 1003, "dave", 999}}, {"GPU-c", {"erin-starting", 1004, "erin", 777}}};
  gpu::HolderProbe probe{[](const std::string& env) { return env == "bob-train"; }, [](long pid) { return pid == 777; }};
  gpu::drop_stale_holders(holders, "alice-jupyter", probe);
  CHECK(holders.size() == 2);
  CHECK(holders.count("GPU-a") == 1);
  CHECK(holders.count("GPU-c") == 1);
}

TEST_CASE("an explicit choice is recorded without taking over another env's GPU", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  gpu::reserve_gpus(file, a100s, bob, 1, all_alive);
  gpu::record_gpus(file, {&a100s.gpus[1], &a100s.gpus[2]}, alice);
  gpu::with_holder_table(file, [&](gpu::HolderTable& holders) {
    CHECK(holders.at(a100s.gpus[1].uuid).env == "bob-train");
    CHECK(holders.at(a100s.gpus[2].uuid).env == "alice-jupyter");
  });
}

TEST_CASE("a lock file the launcher did not write is an error saying what to do", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  std::ofstream(file) << "{\"gpus\": [";
  testing::require_error([&] { gpu::release_gpus(file, "alice-jupyter"); }, ExitCode::failed,
                         "GPU lock file " + file.string() +
                             " is not what the launcher writes ([json.exception.parse_error.101] parse error at line 1, "
                             "column 11: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal); "
                             "remove it when no launcher is running");
}

TEST_CASE("two processes selecting at once never get the same GPU", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  // A running holder on GPU 0 makes each selector ask the probe while it holds the lock; the
  // probe's pause is the window in which an unlocked selector would pick the same free GPU.
  gpu::record_gpus(file, {&a100s.gpus[0]}, {"zoe-long-run", 1009, "zoe", 1});
  gpu::HolderProbe slow{[](const std::string&) {
                          std::this_thread::sleep_for(std::chrono::milliseconds(300));
                          return true;
                        },
                        [](long) { return true; }};
  int start[2];
  REQUIRE(pipe(start) == 0);
  std::vector<pid_t> children;
  std::vector<int> results;
  for (int child = 0; child < 2; ++child) {
    int result[2];
    REQUIRE(pipe(result) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(start[1]);
      char go;
      if (read(start[0], &go, 1) != 1) _exit(2);
      gpu::GpuHolder me{"env-" + std::to_string(child), 1000, "alice", static_cast<long>(getpid())};
      int index = gpu::reserve_gpus(file, a100s, me, 1, slow).at(0).index;
      char answer = static_cast<char>('0' + index);
      _exit(write(result[1], &answer, 1) == 1 ? 0 : 3);
    }
    close(result[1]);
    children.push_back(pid);
    results.push_back(result[0]);
  }
  close(start[0]);
  REQUIRE(write(start[1], "gg", 2) == 2); // both children start together
  close(start[1]);
  std::vector<char> chosen;
  for (std::size_t i = 0; i < children.size(); ++i) {
    int status = 0;
    waitpid(children[i], &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    char answer = '?';
    CHECK(read(results[i], &answer, 1) == 1);
    close(results[i]);
    chosen.push_back(answer);
  }
  std::sort(chosen.begin(), chosen.end());
  CHECK(chosen == std::vector<char>{'1', '3'});
}
