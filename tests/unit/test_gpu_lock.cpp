#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "file_mode.hpp"
#include "gpu/lock.hpp"
#include "race.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::inventory_of;
using launcher::testing::mode_of;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Every container exists: holders stay unless a test says otherwise.
const gpu::HolderProbe all_alive{[](const std::string&) { return true; }, [](long) { return true; }};

const gpu::GpuInventory a100s = inventory_of("gpu/4x-a100-sxm4-80gb-driver-550");
const gpu::GpuHolder alice{"alice-jupyter", 1000, "alice", 4100};
const gpu::GpuHolder bob{"bob-train", 1001, "bob", 4300};
const gpu::LeaseTerms now{1000, gpu::default_lease_grace};

} // namespace

TEST_CASE("a reservation is recorded, kept by the same env and released on down", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  auto first = gpu::reserve_gpus(file, a100s, alice, 1, all_alive, now);
  REQUIRE(first.size() == 1);
  CHECK(first[0].index == 1);
  CHECK(nlohmann::json::parse(read_file(file)) ==
        nlohmann::json::parse(R"({"version": 1, "gpus": {"GPU-2c8f5dab-4063-4e9f-ab72-1d306e8f9b21":
          {"env": "alice-jupyter", "uid": 1000, "user": "alice", "pid": 4100,
           "chosen_at": 1000, "memory_at_choice_mib": 4}}})"));
  CHECK(gpu::reserve_gpus(file, a100s, bob, 1, all_alive, now).at(0).index == 3);
  CHECK(gpu::reserve_gpus(file, a100s, alice, 1, all_alive, now).at(0).index == 1);
  gpu::release_gpus(file, "alice-jupyter");
  CHECK(gpu::reserve_gpus(file, a100s, {"carol-dev", 1002, "carol", 4500}, 1, all_alive, now).at(0).index == 1);
}

TEST_CASE("a holder whose container is gone and whose up has exited is recovered", "[gpu][lock]") {
  gpu::HolderTable holders{
      {"GPU-a", bob}, {"GPU-b", {"dave-old", 1003, "dave", 999}}, {"GPU-c", {"erin-starting", 1004, "erin", 777}}};
  gpu::HolderProbe probe{[](const std::string& env) { return env == "bob-train"; },
                         [](long pid) { return pid == 777; }};
  gpu::drop_stale_holders(holders, "alice-jupyter", probe, a100s, now);
  CHECK(holders.size() == 2);
  CHECK(holders.count("GPU-a") == 1);
  CHECK(holders.count("GPU-c") == 1);
}

TEST_CASE("an explicit choice is recorded without taking over another env's GPU", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  gpu::reserve_gpus(file, a100s, bob, 1, all_alive, now);
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
  testing::require_error(
      [&] { gpu::release_gpus(file, "alice-jupyter"); }, ExitCode::failed,
      "GPU table " + file.string() +
          " is not what the launcher writes (parse error at line 1, "
          "column 11: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal); "
          "remove it when no launcher is running (the containers' labels keep their GPUs taken)");
}

TEST_CASE("two processes selecting at once never get the same GPU", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  // A running holder on GPU 0 makes each selector ask the probe while it holds the lock; the
  // probe's pause is the window in which an unlocked selector would pick the same free GPU.
  gpu::record_gpus(file, {&a100s.gpus[0]}, {"zoe-long-run", 1009, "zoe", 1});
  gpu::HolderProbe slow{[](const std::string&) { return true; },
                        [](long) {
                          std::this_thread::sleep_for(std::chrono::milliseconds(300));
                          return true;
                        }};
  auto chosen = testing::race_in_processes(2, [&](int child) {
    gpu::GpuHolder me{"env-" + std::to_string(child), 1000, "alice", static_cast<long>(getpid())};
    return std::to_string(gpu::reserve_gpus(file, a100s, me, 1, slow, now).at(0).index);
  });
  std::sort(chosen.begin(), chosen.end());
  CHECK(chosen == std::vector<std::string>{"1", "3"});
}

TEST_CASE("a symlink in place of the table is refused and its target keeps its mode", "[gpu][lock][security]") {
  TempDir dir;
  fs::path victim = dir.path / "victim";
  std::ofstream(victim) << "private\n";
  REQUIRE(chmod(victim.c_str(), 0600) == 0);
  fs::path file = dir.path / "gpus.json";
  fs::create_symlink(victim, file);
  testing::require_error([&] { gpu::release_gpus(file, "alice-jupyter"); }, ExitCode::failed,
                         "refusing GPU table " + file.string() +
                             ": it is a symbolic link; remove it when no launcher is running");
  CHECK(mode_of(victim) == 0600);
  CHECK(read_file(victim) == "private\n");
}

TEST_CASE("a table with a second hard link is refused", "[gpu][lock][security]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  std::ofstream(file) << "";
  fs::create_hard_link(file, dir.path / "elsewhere");
  testing::require_error([&] { gpu::release_gpus(file, "alice-jupyter"); }, ExitCode::failed,
                         "refusing GPU table " + file.string() +
                             ": it has 2 hard links; remove it when no launcher is running");
}

TEST_CASE("a table every user can write is refused, never chmodded", "[gpu][lock][security]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  std::ofstream(file) << "";
  REQUIRE(chmod(file.c_str(), 0666) == 0);
  testing::require_error([&] { gpu::release_gpus(file, "alice-jupyter"); }, ExitCode::failed,
                         "refusing GPU table " + file.string() +
                             ": every user can write it (mode 666); remove it when no launcher is running");
  CHECK(mode_of(file) == 0666);
}

TEST_CASE("a world-writable directory like /run/lock is not trusted with the table", "[gpu][lock][security]") {
  TempDir dir;
  fs::path shared = dir.path / "lock";
  fs::create_directory(shared);
  REQUIRE(chmod(shared.c_str(), 01777) == 0);
  testing::require_error([&] { gpu::release_gpus(shared / "gpus.json", "alice-jupyter"); }, ExitCode::failed,
                         "refusing GPU table " + shared.string() +
                             ": its directory is writable by every user (mode 1777); only root's "
                             "/run/launcher (root:docker, 2770) or your own state directory is trusted");
  CHECK_FALSE(fs::exists(shared / "gpus.json"));
}

TEST_CASE("a directory of another user is not trusted with the table", "[gpu][lock][security]") {
  // The tests run as root (CI): root can hand the directory to another uid.
  REQUIRE(geteuid() == 0);
  TempDir dir;
  fs::path foreign = dir.path / "foreign";
  fs::create_directory(foreign);
  REQUIRE(chown(foreign.c_str(), 4242, 4242) == 0);
  testing::require_error([&] { gpu::release_gpus(foreign / "gpus.json", "alice-jupyter"); }, ExitCode::failed,
                         "refusing GPU table " + foreign.string() +
                             ": its directory belongs to uid 4242; only a directory of root's or "
                             "your own is trusted; remove " +
                             foreign.string());
}

TEST_CASE("a new table gets its mode from the launcher, not from the umask", "[gpu][lock][security]") {
  TempDir dir;
  fs::path file = dir.path / "state" / "launcher" / "gpus.json";
  mode_t previous = umask(0);
  gpu::release_gpus(file, "alice-jupyter");
  umask(previous);
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(file.parent_path()) == 0700);
}

TEST_CASE("a held lock is waited on for a bounded time, and its holder is named", "[gpu][lock][security]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  gpu::release_gpus(file, "alice-jupyter"); // creates it
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t holder = fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    int fd = open(file.c_str(), O_RDWR);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) _exit(2);
    if (write(ready[1], "x", 1) != 1) _exit(3);
    pause();
    _exit(0);
  }
  char go = 0;
  REQUIRE(read(ready[0], &go, 1) == 1);
  auto start = std::chrono::steady_clock::now();
  std::string message;
  try {
    gpu::with_holder_table(
        file, [](gpu::HolderTable&) {}, std::chrono::milliseconds(300));
  } catch (const Error& error) {
    message = error.what();
  }
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  CHECK(message == "the GPU table " + file.string() + " has been locked by process " + std::to_string(holder) +
                       " (unit_tests, user root) for more than 0.3 s; wait for it to finish, or stop that process");
  CHECK(waited < 5);
}

TEST_CASE("GPUs held by containers' labels are taken but not written to the table", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  gpu::HolderTable labelled =
      gpu::holders_from_labels(a100s, {{"bob-train", "1,3"}, {"carol-cpu", "none"}, {"dave-gone", "7"}});
  CHECK(labelled.size() == 2);
  auto chosen = gpu::reserve_gpus(file, a100s, alice, 1, all_alive, now, labelled);
  REQUIRE(chosen.size() == 1);
  CHECK(chosen[0].index != 1);
  CHECK(chosen[0].index != 3);
  gpu::with_holder_table(file, [&](gpu::HolderTable& holders) {
    CHECK(holders.size() == 1);
    CHECK(holders.begin()->second.env == "alice-jupyter");
  });
  CHECK(gpu::holders_from_labels(a100s, {{"erin-all", "all"}}).size() == a100s.gpus.size());
}

namespace {

gpu::HolderProbe probe_of(bool up_running, bool env_running) {
  return {[=](const std::string&) { return env_running; }, [=](long) { return up_running; }};
}

} // namespace

TEST_CASE("a count choice holds while its up runs, then while its env runs until its job shows or the grace ends",
          "[gpu][lock][lease]") {
  const gpu::Gpu& gpu = a100s.gpus[1]; // 4 MiB used
  gpu::GpuHolder lease = bob;
  lease.chosen_at_s = 1000;
  lease.memory_at_choice_mib = gpu.memory_used_mib;
  const auto up_running = probe_of(true, false), env_running = probe_of(false, true), stopped = probe_of(false, false);
  CHECK(gpu::still_holds(lease, &gpu, up_running, {5000}));
  CHECK(gpu::still_holds(lease, &gpu, env_running, {1119}));
  CHECK_FALSE(gpu::still_holds(lease, &gpu, env_running, {1120}));
  CHECK(gpu::still_holds(lease, &gpu, env_running, {1200, std::chrono::seconds(300)}));
  gpu::Gpu allocated = gpu;
  allocated.memory_used_mib += 2048;
  CHECK_FALSE(gpu::still_holds(lease, &allocated, env_running, {1010}));
  CHECK(gpu::still_holds(lease, nullptr, env_running, {1010}));
  CHECK_FALSE(gpu::still_holds(lease, &gpu, stopped, {1010}));
  CHECK_FALSE(gpu::still_holds(lease, &gpu, env_running, {500})); // chosen before a reboot
  // Named GPUs hold for as long as their env runs, and not once it stopped.
  CHECK(gpu::still_holds(bob, &allocated, env_running, {999999}));
  CHECK_FALSE(gpu::still_holds(bob, &gpu, stopped, {1010}));
}

TEST_CASE("a lease ends in the table once the grace passed, and the running env's label holds the GPU on",
          "[gpu][lock][lease]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  auto first = gpu::reserve_gpus(file, a100s, bob, 1, all_alive, now);
  const auto env_running = probe_of(false, true);
  gpu::LeaseTerms later{now.now_s + 121};
  // Without its label (no container listed yet), the GPU is free again after the grace...
  CHECK(gpu::reserve_gpus(file, a100s, alice, 1, env_running, later).at(0).index == first.at(0).index);
  // ...and with it, the running env keeps it.
  gpu::release_gpus(file, "alice-jupyter");
  auto labelled = gpu::holders_from_labels(a100s, {{"bob-train", std::to_string(first.at(0).index)}});
  CHECK(gpu::reserve_gpus(file, a100s, alice, 1, env_running, later, labelled).at(0).index != first.at(0).index);
}

TEST_CASE("waiters queue first come first served, the first takes free GPUs and leaves the line",
          "[gpu][lock][queue]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  const gpu::HolderTable all_taken = gpu::holders_from_labels(a100s, {{"zoe-big", "all"}});
  auto place_of = [](const std::variant<std::vector<gpu::Gpu>, gpu::QueuePlace>& attempt) {
    REQUIRE(std::holds_alternative<gpu::QueuePlace>(attempt));
    return std::get<gpu::QueuePlace>(attempt);
  };
  gpu::QueuePlace alice_waits = place_of(gpu::reserve_or_queue(file, a100s, alice, 1, all_alive, now, all_taken));
  CHECK(alice_waits.place == 1);
  CHECK(alice_waits.waiting == 1);
  CHECK(alice_waits.free == 0);
  CHECK(alice_waits.holders.find("GPU 1 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env zoe-big (its container's "
                                 "label)") != std::string::npos);
  gpu::QueuePlace bob_waits = place_of(gpu::reserve_or_queue(file, a100s, bob, 1, all_alive, now, all_taken));
  CHECK(bob_waits.place == 2);
  CHECK(bob_waits.waiting == 2);
  // The GPUs are free, but alice came first: bob keeps waiting, alice takes one and leaves the line.
  CHECK(place_of(gpu::reserve_or_queue(file, a100s, bob, 1, all_alive, now)).free == 4);
  auto alice_gets = gpu::reserve_or_queue(file, a100s, alice, 1, all_alive, now);
  REQUIRE(std::holds_alternative<std::vector<gpu::Gpu>>(alice_gets));
  CHECK(std::get<std::vector<gpu::Gpu>>(alice_gets).at(0).index == 1);
  auto bob_gets = gpu::reserve_or_queue(file, a100s, bob, 1, all_alive, now);
  REQUIRE(std::holds_alternative<std::vector<gpu::Gpu>>(bob_gets));
  CHECK(std::get<std::vector<gpu::Gpu>>(bob_gets).at(0).index == 3);
  gpu::with_gpu_table(file, [](gpu::GpuTable& table) { CHECK(table.queue.empty()); });
}

TEST_CASE("a waiter whose up has ended is dropped from the line, and leave_queue and down take one out",
          "[gpu][lock][queue]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  const gpu::HolderTable all_taken = gpu::holders_from_labels(a100s, {{"zoe-big", "all"}});
  gpu::reserve_or_queue(file, a100s, {"carol-dev", 1002, "carol", 999}, 1, all_alive, now, all_taken);
  gpu::reserve_or_queue(file, a100s, alice, 1, all_alive, now, all_taken);
  gpu::HolderProbe carol_gone{[](const std::string&) { return true; }, [](long pid) { return pid != 999; }};
  auto bob_waits = gpu::reserve_or_queue(file, a100s, bob, 2, carol_gone, now, all_taken);
  CHECK(std::get<gpu::QueuePlace>(bob_waits).place == 2);
  gpu::leave_queue(file, "alice-jupyter");
  gpu::with_gpu_table(file, [](gpu::GpuTable& table) {
    REQUIRE(table.queue.size() == 1);
    CHECK(table.queue[0].who.env == "bob-train");
    CHECK(table.queue[0].count == 2);
  });
  gpu::release_gpus(file, "bob-train");
  gpu::with_gpu_table(file, [](gpu::GpuTable& table) { CHECK(table.queue.empty()); });
}

TEST_CASE("a table written before leases and the line is read as it was", "[gpu][lock]") {
  TempDir dir;
  fs::path file = dir.path / "gpus.json";
  std::ofstream(file) << R"({"version": 1, "gpus": {"GPU-a": {"env": "bob-train", "uid": 1001, "user": "bob",
                           "pid": 4300}}})";
  gpu::with_gpu_table(file, [](gpu::GpuTable& table) {
    CHECK(table.holders.at("GPU-a") == bob);
    CHECK(table.queue.empty());
  });
}
