// `launcher gpus`'s rows: who holds each GPU (running containers' labels, live leases), what is
// shown of another user's env, and which processes belong to no env.
#include <catch2/catch.hpp>

#include "doctor_fixtures.hpp"
#include "gpu/usage.hpp"

using namespace launcher;
using launcher::testing::inventory_of;

namespace {

const gpu::GpuInventory h100s = inventory_of("gpu/8x-h100-two-socket");
const gpu::GpuInventory mig = inventory_of("gpu/2x-a100-sxm4-40gb-mig");
const std::string alice_id(64, 'a'), bob_id(64, 'b');

gpu::EnvContainer alice_train() {
  return {"alice-train", "train", "alice", 1000, alice_id, "0,2", "2026-12-06T09:12:44.123456789Z", true};
}
gpu::EnvContainer bob_notebook() {
  return {"bob-notebook",         "jupyter", "bob", 1001, bob_id, "GPU-5a1c0003-0000-0000-0000-000048d2af34",
          "2026-12-06T10:00:00Z", true};
}

std::vector<std::string> envs_on(const gpu::GpuRow& row) {
  std::vector<std::string> names;
  for (const auto& holder : row.holders)
    names.push_back(holder.env);
  return names;
}

} // namespace

TEST_CASE("a GPU is held by the running envs whose label names it by index, UUID or all", "[gpu][usage]") {
  gpu::EnvContainer stopped{"bob-old", "ssh", "bob", 1001, "c", "5", "2026-12-01T00:00:00Z", false};
  gpu::EnvContainer everything{"bob-all", "shell", "bob", 1001, "d", "all", "2026-12-06T11:00:00Z", true};
  auto rows = gpu::gpu_rows(h100s, {alice_train(), bob_notebook(), stopped}, {}, {}, 1000);
  REQUIRE(rows.size() == 8);
  CHECK(envs_on(rows[0]) == std::vector<std::string>{"alice-train"});
  CHECK(envs_on(rows[2]) == std::vector<std::string>{"alice-train"});
  CHECK(envs_on(rows[3]) == std::vector<std::string>{"bob-notebook"});
  CHECK(rows[5].holders.empty()); // a stopped env holds nothing
  CHECK(rows[1].holders.empty());
  auto all = gpu::gpu_rows(h100s, {everything}, {}, {}, 1000);
  for (const auto& row : all)
    CHECK(envs_on(row) == std::vector<std::string>{"bob-all"});
}

TEST_CASE("the viewer's own env is shown with its start and profile, another user's by name and user only",
          "[gpu][usage]") {
  auto rows = gpu::gpu_rows(h100s, {alice_train(), bob_notebook()}, {}, {}, 1000);
  const gpu::GpuHolding& own = rows[0].holders.at(0);
  CHECK(own.user == "alice");
  CHECK(own.since == "2026-12-06 09:12 UTC");
  CHECK(own.profile == "train");
  const gpu::GpuHolding& other = rows[3].holders.at(0);
  CHECK(other.env == "bob-notebook");
  CHECK(other.user == "bob");
  CHECK(other.since.empty());
  CHECK(other.profile.empty());
}

TEST_CASE("a lease of an env without a running container shows it as starting, once", "[gpu][usage]") {
  gpu::HolderTable leases{{h100s.gpus[4].uuid, {"bob-batch", 1001, "bob", 77, 900, 0}},
                          {h100s.gpus[0].uuid, {"alice-train", 1000, "alice", 78, 900, 0}}};
  auto rows = gpu::gpu_rows(h100s, {alice_train()}, leases, {}, 1000);
  REQUIRE(rows[4].holders.size() == 1);
  CHECK(rows[4].holders[0].env == "bob-batch");
  CHECK(rows[4].holders[0].starting);
  CHECK(envs_on(rows[0]) == std::vector<std::string>{"alice-train"});
  CHECK_FALSE(rows[0].holders[0].starting);
}

TEST_CASE("a process whose cgroup names an env's container is the env's, any other is foreign", "[gpu][usage]") {
  gpu::GpuInventory host = h100s;
  host.processes.push_back({5151, h100s.gpus[0].uuid, 1024});
  host.processes.push_back({6161, h100s.gpus[0].uuid, std::nullopt});
  std::map<long, gpu::ProcessFacts> processes{
      {4242, {1003, "carol", "0::/user.slice/user-1003.slice/session-7.scope\n"}},
      {5151, {1000, "alice", "0::/system.slice/docker-" + alice_id + ".scope\n"}},
      {6161, {2000, "", "12:memory:/docker/" + std::string(64, 'f') + "\n"}}};
  auto rows = gpu::gpu_rows(host, {alice_train()}, {}, processes, 1000);
  REQUIRE(rows[1].foreign_processes.size() == 1);
  CHECK(rows[1].foreign_processes[0].pid == 4242);
  CHECK(rows[1].foreign_processes[0].user == "carol");
  CHECK(rows[1].foreign_processes[0].used_mib == 29520u);
  REQUIRE(rows[0].foreign_processes.size() == 1); // 5151 runs in alice-train
  CHECK(rows[0].foreign_processes[0].pid == 6161);
  CHECK(rows[0].foreign_processes[0].user == "uid 2000");
  CHECK_FALSE(rows[0].foreign_processes[0].used_mib);
  // Without facts about the process, its user is unknown.
  CHECK(gpu::gpu_rows(h100s, {}, {}, {}, 1000)[1].foreign_processes.at(0).user == "?");
}

TEST_CASE("a GPU in MIG mode is followed by a row per MIG device, held by the env naming it", "[gpu][usage]") {
  gpu::EnvContainer pair{"alice-mig", "shell", "alice", 1000, "e", "0:1", "2026-12-06T09:00:00Z", true};
  gpu::EnvContainer uuid{
      "bob-mig", "shell", "bob", 1001, "f", "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "2026-12-06T09:00:00Z", true};
  auto rows = gpu::gpu_rows(mig, {pair, uuid}, {}, {}, 1000);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].holders.empty());
  CHECK(rows[1].mig_index == 0);
  CHECK(rows[1].model == "MIG 3g.20gb");
  CHECK_FALSE(rows[1].memory_total_mib);
  CHECK(envs_on(rows[1]) == std::vector<std::string>{"bob-mig"});
  CHECK(envs_on(rows[2]) == std::vector<std::string>{"alice-mig"});
  CHECK(rows[3].index == 1);
  CHECK_FALSE(rows[3].mig_index);
  CHECK(gpu::format_gpu_rows(rows).find("\n0:1   MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb") != std::string::npos);
}

TEST_CASE("the engine's and the host's texts are shown with control characters escaped", "[gpu][usage]") {
  gpu::EnvContainer odd{"alice-train", "train", "al\x1b[31mice", 1000, "a", "0", "2026-12-06T09:12:44Z", true};
  std::string text = gpu::format_gpu_rows(gpu::gpu_rows(h100s, {odd}, {}, {}, 1000));
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("al\\x1b[31mice") != std::string::npos);
}

TEST_CASE("a process's uid comes from /proc/PID/status and its name from getent passwd", "[gpu][usage]") {
  CHECK(gpu::parse_status_uid("Name:\tpython3\nUid:\t1003\t1003\t1003\t1003\nGid:\t1003\n") == 1003u);
  CHECK_FALSE(gpu::parse_status_uid("Name:\tpython3\n"));
  CHECK_FALSE(gpu::parse_status_uid("Uid:\tnobody\n"));
  CHECK(gpu::parse_passwd_name("carol:x:1003:1003::/home/carol:/bin/bash\n") == "carol");
  CHECK_FALSE(gpu::parse_passwd_name(""));
  CHECK_FALSE(gpu::parse_passwd_name(":x:1003"));
}

TEST_CASE("a container's start time is shown to the minute in UTC", "[gpu][usage]") {
  CHECK(gpu::short_time("2026-12-06T09:12:44.123456789Z") == "2026-12-06 09:12 UTC");
  CHECK(gpu::short_time("0001-01-01T00:00:00Z") == "0001-01-01 00:00 UTC");
  CHECK(gpu::short_time("yesterday") == "yesterday");
}
