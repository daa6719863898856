// `launcher gpus`, the GPU leases of `up` and `up --wait`, on the replayed two-socket 8-GPU host
// against the recording fake engine: who holds which GPU, concurrent choices, waiting in line.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "gpu/lock.hpp"
#include "gpu/shared_table.hpp"
#include "race.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::Bench;
using launcher::testing::check_golden;
using launcher::testing::contains;
using launcher::testing::fixture;
using launcher::testing::image;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string host_folder = "gpu/8x-h100-two-socket";

// The uid whose envs `gpus` shows in full: the one running the tests, or who "ran sudo" (the
// bench sets SUDO_UID=4242 when the tests run as root).
unsigned viewer_uid() { return geteuid() == 0 ? 4242 : geteuid(); }

// A launcher container as the engine inspects it (and lists it: "Status").
json env_container(const std::string& env, const std::string& profile, const std::string& user, unsigned uid, char id,
                   const std::string& gpus, const std::string& status) {
  return {{"Id", std::string(64, id)},
          {"Name", "/" + env},
          {"Status", "Up"},
          {"State", {{"Status", status}, {"Running", status == "running"}, {"StartedAt", "2026-12-06T09:12:44.5Z"}}},
          {"Config",
           {{"Image", image},
            {"Labels", {{"io.launcher.env", env}, {"io.launcher.profile", profile}, {"io.launcher.gpus", gpus}}},
            {"Env", {"LAUNCHER_USER=" + user, "LAUNCHER_UID=" + std::to_string(uid)}}}}};
}

// The replayed host, its own GPU table, and the envs the engine holds (all users', as `docker ps` lists them).
struct GpuHost : Bench {
  facts::DirectoryFactSource host{{fixture(host_folder)}};

  GpuHost() {
    context.facts = &host;
    context.gpu_table = dir.path / "gpus.json";
  }

  // What `up --name NAME` of a new env meets: no container yet, then the one `run` made, running
  // (its labels name no GPU).
  void can_start(const std::string& name) { engine.run_makes(started(name)); }
  static json started(const std::string& name) {
    json running = env_container(name, "shell", "alice", viewer_uid(), 'c', "", "running");
    running["NetworkSettings"] = {{"Ports", json::object()}};
    running["Mounts"] = json::array();
    return running;
  }

  int up(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"up",      "--profile", "shell",  "--name",          name,
                                  "--image", image,       "--gpus", R"({"count": 1})", "--skip-checks"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  // The GPU the plan of the env's last `run` was given ("0"), or "" without one.
  std::string gpu_given() const {
    auto runs = engine.runs();
    if (runs.empty() || runs.back().gpus.devices.size() != 1) return "";
    return runs.back().gpus.devices[0];
  }
};

// Time that passes only when someone sleeps, and runs `at_sleep` each time: what other users do
// while an `up --wait` waits.
class SleepHook final : public Clock {
public:
  time_point now() const override { return now_; }
  void sleep_for(std::chrono::milliseconds duration) const override {
    now_ += duration;
    ++sleeps;
    if (at_sleep) at_sleep();
  }
  std::function<void()> at_sleep;
  mutable int sleeps = 0;

private:
  mutable time_point now_{};
};

} // namespace

TEST_CASE("golden: launcher gpus on the replayed 8-GPU host, envs of two users and a foreign process",
          "[commands][gpus][golden]") {
  GpuHost bench;
  bench.context.facts = &bench.facts; // nothing but what --facts replays
  for (const json& container : {env_container("alice-train", "train", "alice", viewer_uid(), 'a', "0,2", "running"),
                                env_container("bob-notebook", "jupyter", "bob", 31001, 'b',
                                              "GPU-5a1c0003-0000-0000-0000-000048d2af34", "running"),
                                env_container("bob-old", "ssh", "bob", 31001, 'd', "5", "exited")})
    bench.engine.add_container(container);
  // bob's next env is being started: its `up` (this process) holds GPU 4 in the table.
  gpu::with_holder_table(bench.context.gpu_table, [](gpu::HolderTable& holders) {
    holders["GPU-5a1c0004-0000-0000-0000-00005b075b01"] = {"bob-batch", 31001, "bob", getpid(), 0, 0};
  });
  REQUIRE(bench.run({"gpus", "--facts", fixture(host_folder).string()}) == 0);
  INFO(bench.err.str());
  check_golden("gpus-8x-h100-two-users.txt", bench.out.str());

  REQUIRE(bench.run({"gpus", "--json", "--facts", fixture(host_folder).string()}) == 0);
  json gpus = json::parse(bench.out.str())["gpus"];
  REQUIRE(gpus.size() == 8);
  CHECK(gpus[0]["envs"][0] == json{{"env", "alice-train"},
                                   {"user", "alice"},
                                   {"since", "2026-12-06 09:12 UTC"},
                                   {"profile", "train"},
                                   {"state", "running"}});
  CHECK(gpus[3]["envs"][0] ==
        json{{"env", "bob-notebook"}, {"user", "bob"}, {"since", nullptr}, {"profile", nullptr}, {"state", "running"}});
  CHECK(gpus[4]["envs"][0]["state"] == "starting");
  CHECK(gpus[5]["envs"].empty());
  CHECK(gpus[1]["foreign_processes"] == json::array({{{"pid", 4242}, {"user", "carol"}, {"used_mib", 29520}}}));
  CHECK(gpus[1]["memory_used_mib"] == 30000);
  CHECK(gpus[1]["utilization_percent"] == "0");
}

TEST_CASE("launcher gpus on a host without an NVIDIA GPU says why", "[commands][gpus]") {
  Bench bench;
  CHECK(bench.run({"gpus"}) == 3);
  CHECK(bench.err.str() == "launcher: error: no NVIDIA GPU on this host: the facts do not record the NVIDIA driver\n");
  CHECK(bench.engine.asked().empty());
}

TEST_CASE("two up {\"count\": 1} at once on the replayed host never get the same GPU, before either shows memory",
          "[commands][up][gpus][lease]") {
  GpuHost bench;
  // Every env's container runs once started (each `up` runs in a process of its own, its fake
  // engine too), but no label names its GPUs: only the table's leases keep the choices apart.
  bench.engine.answer_any_running(true);
  const std::vector<std::string> names{"race-a", "race-b"};
  auto chosen = testing::race_in_processes(2, [&](int index) {
    bench.can_start(names[index]);
    if (bench.up(names[index]) != 0) throw std::runtime_error("up failed");
    return bench.gpu_given();
  });
  std::sort(chosen.begin(), chosen.end());
  // GPU 1 is busy (30 GB used): the least used are 0, then 2.
  CHECK(chosen == std::vector<std::string>{"0", "2"});

  // Both `up`s have ended; their containers run but have not allocated memory yet: their leases
  // still hold GPUs 0 and 2 for a third env.
  bench.can_start("race-c");
  REQUIRE(bench.up("race-c") == 0);
  CHECK(bench.gpu_given() == "3");
  // Past the grace period, a lease whose container shows no memory and no label lets the GPU go.
  bench.clock.sleep_for(gpu::default_lease_grace + std::chrono::seconds(1));
  bench.can_start("race-d");
  REQUIRE(bench.up("race-d") == 0);
  CHECK(bench.gpu_given() == "0");
}

namespace {

// The replayed host with every GPU held by bob's running env, and an `up --wait` of alice's
// that the test clock's sleeps drive.
struct FullHost : GpuHost {
  SleepHook hook;

  FullHost() {
    context.clock = &hook;
    engine.add_container(env_container("bob-big", "train", "bob", 31001, 'b', "all", "running"));
    can_start("alice-wait");
  }

  gpu::GpuTable table() const {
    gpu::GpuTable copy;
    gpu::with_gpu_table(context.gpu_table, [&](gpu::GpuTable& table) { copy = table; });
    return copy;
  }
};

} // namespace

TEST_CASE("up --wait waits in line while every GPU is held, and goes on when down releases one",
          "[commands][up][gpus][wait]") {
  FullHost bench;
  bench.hook.at_sleep = [&] {
    // Ten seconds in, bob's env is removed (`down`): its container goes, and its table entries.
    if (bench.hook.now().time_since_epoch() < std::chrono::seconds(10)) return;
    if (!bench.engine.remove_container("bob-big")) return;
    CHECK(bench.table().queue.size() == 1);
    gpu::release_gpus(bench.context.gpu_table, "bob-big");
  };
  REQUIRE(bench.up("alice-wait", {"--wait", "10m"}) == 0);
  INFO(bench.err.str());
  CHECK(bench.gpu_given() == "0");
  CHECK(contains(bench.err.str(),
                 "launcher: waiting for 1 GPU (0 free of 8), 1st of 1 in line:\n"
                 "  GPU 0 NVIDIA H100 80GB HBM3: 0/81559 MiB used; held by env bob-big (its container's label)\n"));
  // Said once, not at every look.
  CHECK(bench.err.str().find("waiting for") == bench.err.str().rfind("waiting for"));
  CHECK(bench.table().queue.empty());
  CHECK(bench.table().holders.at("GPU-5a1c0000-0000-0000-0000-00001234abcd").env == "alice-wait");
}

TEST_CASE("up --wait that runs out of time leaves the line and names who holds the GPUs",
          "[commands][up][gpus][wait]") {
  FullHost bench;
  CHECK(bench.up("alice-wait", {"--wait", "30s"}) == 3);
  CHECK(contains(bench.err.str(), "launcher: error: waited 30s for 1 GPU, 0 of 8 free on this host:\n  GPU 0 NVIDIA "
                                  "H100 80GB HBM3: 0/81559 MiB used; held by env bob-big (its container's label)"));
  CHECK(bench.hook.now().time_since_epoch() >= std::chrono::seconds(30));
  CHECK(bench.hook.now().time_since_epoch() < std::chrono::seconds(33));
  CHECK(bench.table() == gpu::GpuTable{});
  CHECK(bench.engine.runs().empty());
}

TEST_CASE("Ctrl-C during up --wait leaves no reservation and no place in line", "[commands][up][gpus][wait][signal]") {
  FullHost bench;
  bench.hook.at_sleep = [&] {
    if (bench.hook.sleeps == 3) raise(SIGINT);
  };
  CHECK(bench.up("alice-wait", {"--wait", "10m"}) == 128 + SIGINT);
  CHECK(contains(bench.err.str(),
                 "launcher: error: interrupted by SIGINT while waiting for GPUs; left the line, no GPU is reserved\n"));
  CHECK(bench.table() == gpu::GpuTable{});
  CHECK(bench.engine.runs().empty());
  CHECK(bench.engine.asked_to("create_network ").empty());
}

TEST_CASE("up --wait takes a duration, and says so when given something else", "[commands][up][wait]") {
  FullHost bench;
  CHECK(bench.up("alice-wait", {"--wait", "soon"}) == 2);
  CHECK(bench.err.str() == "launcher: error: --wait: expected a duration like 90s, 10m or 2h, found \"soon\"\n");
  CHECK(bench.engine.asked().empty());
}

TEST_CASE("under the shared GPU table up leaves taken and busy GPUs, hands its entry to conmon, and down removes it",
          "[commands][up][down][gpus][shared-table]") {
  GpuHost bench;
  fs::path shared = bench.dir.path / "shared";
  fs::create_directory(shared);
  REQUIRE(chmod(shared.c_str(), 03775) == 0);
  std::ofstream((shared / ".lock").string());
  gpu::LivenessProbe liveness = gpu::live_liveness_probe();
  bench.context.shared_gpu_table = gpu::SharedTable{shared, liveness};
  // Another env holds GPU 0 while its conmon runs (here: the process that started the tests).
  gpu::write_shared_entry(
      shared,
      {"other-env", geteuid(), "bob", {"GPU-5a1c0000-0000-0000-0000-00001234abcd"}, gpu::proof_of(getppid(), liveness)},
      liveness);
  // A rootless engine shows no other user's container.
  json running = GpuHost::started(testing::env);
  running["State"]["ConmonPid"] = getppid();
  bench.engine.run_makes(running);
  REQUIRE(bench.up(testing::env) == 0);
  INFO(bench.err.str());
  // GPU 0 is the other env's, GPU 1 runs process 4242 outside the table: GPU 2.
  CHECK(bench.gpu_given() == "2");
  fs::path entry = shared / (std::to_string(geteuid()) + "." + testing::env + ".json");
  gpu::SharedEntry written = gpu::parse_shared_entry(read_file(entry), entry.string());
  CHECK(written.gpus == std::vector<std::string>{"GPU-5a1c0002-0000-0000-0000-0000369e0367"});
  CHECK(written.holder.pid == getppid()); // conmon's, no longer this `up`'s

  GpuHost later;
  later.context.shared_gpu_table = bench.context.shared_gpu_table;
  later.has_container("any", false, false, "2");
  later.engine.add_network("launcher-" + testing::env, {{"io.launcher.env", testing::env}});
  REQUIRE(later.run({"down", testing::env, "--force"}) == 0);
  INFO(later.err.str() + later.out.str());
  CHECK_FALSE(fs::exists(entry));
  CHECK(fs::exists(shared / (std::to_string(geteuid()) + ".other-env.json")));
}

TEST_CASE("under the shared GPU table an engine that names no conmon leaves the GPUs to this up, and says so",
          "[commands][up][gpus][shared-table]") {
  GpuHost bench;
  fs::path shared = bench.dir.path / "shared";
  fs::create_directory(shared);
  std::ofstream((shared / ".lock").string());
  bench.context.shared_gpu_table = gpu::SharedTable{shared, gpu::live_liveness_probe()};
  bench.can_start("alice-1");
  REQUIRE(bench.up("alice-1") == 0);
  CHECK(contains(bench.err.str(), "launcher: warning: the engine names no conmon process of alice-1's container: its "
                                  "GPUs are free in the shared GPU table once this `up` ends\n"));
  CHECK(gpu::parse_shared_entry(read_file(shared / (std::to_string(geteuid()) + ".alice-1.json")), "").holder.pid ==
        getpid());
}
