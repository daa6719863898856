// The shared GPU table of rootless engines (gpu/shared_table) and `launcher setup-host`'s planner
// and executor (gpu/table_setup), in temporary trees; two users choosing GPUs on a replayed host.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "fake_clock.hpp"
#include "file_mode.hpp"
#include "gpu/placement.hpp"
#include "gpu/shared_table.hpp"
#include "gpu/table_setup.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::inventory_of;
using launcher::testing::mode_of;
using launcher::testing::require_error;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const gpu::GpuInventory a100s = inventory_of("gpu/4x-a100-sxm4-80gb-driver-550");

// PIDs that run, with their start times, in boot "boot-1".
gpu::LivenessProbe probe_of(std::map<long, gpu::ProcessSeen> running) {
  return {"boot-1", [running](long pid) {
            auto found = running.find(pid);
            return found == running.end() ? gpu::ProcessSeen{} : found->second;
          }};
}

gpu::SharedEntry entry_of(const std::string& env, unsigned uid, const std::string& user, std::vector<std::string> gpus,
                          long pid) {
  return {env, uid, user, std::move(gpus), {pid, 100, "boot-1"}};
}

std::string group_name(gid_t gid) {
  const group* entry = getgrgid(gid);
  REQUIRE(entry);
  return entry->gr_name;
}

// A table made by setup-host's executor in a temporary tree, for the invoking user and `group`.
gpu::TableSetupTarget made_table(const TempDir& dir, const std::string& group) {
  gpu::TableSetupTarget target{dir.path / "var/lib/launcher/gpus", group, geteuid(), false};
  std::ostringstream said;
  gpu::execute_table_setup(target, gpu::plan_table_setup(target, gpu::read_table_setup_facts(target)), said);
  return target;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

} // namespace

TEST_CASE("a process's start time is field 22 of its stat line, whatever its name holds", "[gpu][shared-table]") {
  CHECK(gpu::parse_stat_start_ticks("4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 "
                                    "987654 1000 100") == 987654ULL);
  CHECK_FALSE(gpu::parse_stat_start_ticks("4242 (short) S 1 2 3"));
  CHECK_FALSE(gpu::parse_stat_start_ticks("no name here"));
  CHECK_FALSE(gpu::parse_stat_start_ticks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 1 1"));
  std::string own = read_file("/proc/self/stat");
  CHECK(gpu::parse_stat_start_ticks(own));
}

TEST_CASE("a holder runs while the same boot has its PID with the same start time", "[gpu][shared-table]") {
  gpu::LivenessProbe probe = probe_of({{10, {true, 100}}, {11, {true, 200}}, {12, {true, std::nullopt}}});
  CHECK(gpu::still_running({10, 100, "boot-1"}, probe));
  CHECK_FALSE(gpu::still_running({10, 100, "boot-0"}, probe)); // before a reboot
  CHECK_FALSE(gpu::still_running({11, 100, "boot-1"}, probe)); // a PID reused
  CHECK_FALSE(gpu::still_running({13, 100, "boot-1"}, probe)); // gone
  CHECK(gpu::still_running({12, 100, "boot-1"}, probe));       // hidden (hidepid): better refuse than share
  CHECK(gpu::proof_of(10, probe) == gpu::ProcessProof{10, 100, "boot-1"});
  require_error([&] { gpu::proof_of(13, probe); }, ExitCode::failed, "process 13 does not run");
  require_error([&] { gpu::proof_of(12, probe); }, ExitCode::failed,
                "cannot read the start time of process 12 in /proc");

  gpu::LivenessProbe live = gpu::live_liveness_probe();
  CHECK(live.boot_id.size() == 36);
  CHECK(gpu::still_running(gpu::proof_of(getpid(), live), live));
  CHECK_FALSE(live.see(0).exists);
}

TEST_CASE("an entry is written as JSON named by uid and env, and read back", "[gpu][shared-table]") {
  gpu::SharedEntry entry = entry_of("alice-train", 1000, "alice", {"GPU-a", "GPU-b"}, 4100);
  CHECK(gpu::shared_entry_file_name(1000, EnvName::parse("alice-train")) == "1000.alice-train.json");
  CHECK(gpu::to_json(entry) == nlohmann::json::parse(R"({"version": 1, "env": "alice-train", "uid": 1000,
        "user": "alice", "gpus": ["GPU-a", "GPU-b"], "holder": {"pid": 4100, "start_ticks": 100, "boot_id": "boot-1"}})"));
  CHECK(gpu::parse_shared_entry(gpu::to_json(entry).dump(), "e") == entry);
  require_error([] { gpu::parse_shared_entry("{", "t/1.x.json"); }, ExitCode::failed,
                "t/1.x.json: not a GPU table entry (parse error at line 1, column 2: syntax error while parsing object "
                "key - unexpected end of input; expected string literal)");
  nlohmann::json later = gpu::to_json(entry);
  later["version"] = 2;
  require_error([&] { gpu::parse_shared_entry(later.dump(), "e"); }, ExitCode::failed,
                "e: version 2 is not one this launcher reads (1)");
  nlohmann::json bad_name = gpu::to_json(entry);
  bad_name["env"] = "../x";
  require_error([&] { gpu::parse_shared_entry(bad_name.dump(), "e"); }, ExitCode::failed,
                "e: " + env_name_problem("../x"));
  nlohmann::json escape = gpu::to_json(entry);
  escape["user"] = "bob\x1b]0;owned\x07";
  require_error([&] { gpu::parse_shared_entry(escape.dump(), "e"); }, ExitCode::failed,
                "e: user \"bob\\u001b]0;owned\\u0007\" is no user name");
}

TEST_CASE("the table holds live entries' GPUs, and GPUs busy outside it", "[gpu][shared-table]") {
  gpu::SharedTableView view{{entry_of("alice-train", 1000, "alice", {a100s.gpus[1].uuid}, 4100),
                             entry_of("train", 1001, "bob", {a100s.gpus[3].uuid}, 4300),
                             entry_of("train", 1000, "alice", {a100s.gpus[3].uuid}, 4400)},
                            {}};
  gpu::HolderTable held = gpu::shared_holders(view, a100s, 1000, "train");
  // Bob's "train" is another env than alice's, and its claim on GPU 3 wins.
  CHECK(held.at(a100s.gpus[3].uuid) == gpu::GpuHolder{"bob/train", 1001, "bob", 4300});
  CHECK(held.at(a100s.gpus[1].uuid).env == "alice-train");
  // GPUs 0 and 2 run processes (4242, 5151) no entry accounts for.
  CHECK(held.at(a100s.gpus[0].uuid) == gpu::GpuHolder{"", 0, "", 4242});
  CHECK(held.at(a100s.gpus[2].uuid).pid == 5151);
  require_error([&] { gpu::choose_gpus(a100s, held, "train", 1); }, ExitCode::host_incapable,
                "asked for 1 GPU, 0 of 4 free on this host:"
                "\n  GPU 0 NVIDIA A100-SXM4-80GB: 40960/81920 MiB used by PID 4242; busy outside the GPU table"
                "\n  GPU 1 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env alice-train (user alice, pid 4100)"
                "\n  GPU 2 NVIDIA A100-SXM4-80GB: 1024/81920 MiB used by PID 5151; busy outside the GPU table"
                "\n  GPU 3 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env bob/train (user bob, pid 4300)");
  gpu::HolderTable own = gpu::shared_holders({{view.live[2]}, {}}, a100s, 1000, "train");
  CHECK(gpu::choose_gpus(a100s, own, "train", 2).at(0)->index == 3); // its own GPU first
}

TEST_CASE("reading the table passes over files it cannot trust and leaves out dead holders", "[gpu][shared-table]") {
  TempDir dir;
  gpu::LivenessProbe probe = probe_of({{4100, {true, 100}}});
  unsigned me = geteuid();
  auto put = [&](const std::string& name, const gpu::SharedEntry& entry) {
    std::ofstream(dir.path / name) << gpu::to_json(entry).dump();
  };
  put(std::to_string(me) + ".live.json", entry_of("live", me, "me", {"GPU-a"}, 4100));
  put(std::to_string(me) + ".dead.json", entry_of("dead", me, "me", {"GPU-b"}, 4300));
  put(std::to_string(me) + ".other.json", entry_of("renamed", me, "me", {"GPU-c"}, 4100));
  put(std::to_string(me + 1) + ".forged.json", entry_of("forged", me + 1, "someone", {"GPU-d"}, 4100));
  put("notes.txt", entry_of("x", me, "me", {}, 4100));
  std::ofstream(dir.path / (std::to_string(me) + ".broken.json")) << "{";
  std::ofstream(dir.path / (std::to_string(me) + ".big.json")) << std::string(65 * 1024, ' ');
  fs::create_hard_link(dir.path / (std::to_string(me) + ".live.json"), dir.path / (std::to_string(me) + ".x.json"));
  fs::create_symlink(dir.path / (std::to_string(me) + ".live.json"), dir.path / (std::to_string(me) + ".y.json"));
  std::ofstream(dir.path / ".lock");
  std::ofstream(dir.path / ".1000.w.json.Ab12Cd"); // a write under way

  gpu::SharedTableView view = gpu::read_shared_table(dir.path, probe);
  REQUIRE(view.live.empty()); // the live one has two links now
  fs::remove(dir.path / (std::to_string(me) + ".x.json"));
  view = gpu::read_shared_table(dir.path, probe);
  REQUIRE(view.live.size() == 1);
  CHECK(view.live[0].env == "live");
  std::string prefix = "passed over GPU table entry " + dir.path.string() + "/";
  std::string id = std::to_string(me);
  std::vector<std::string> expected{
      prefix + id + ".big.json: larger than 64 KiB",
      prefix + id + ".broken.json: " + dir.path.string() + "/" + id +
          ".broken.json: not a GPU table entry (parse error at line 1, column 2: syntax error while parsing object key "
          "- unexpected end of input; expected string literal)",
      prefix + std::to_string(me + 1) + ".forged.json: it belongs to uid " + id + ", not to the uid its name gives",
      prefix + id + ".other.json: its name is not " + id + ".renamed.json",
      prefix + id + ".y.json: cannot open it: " + std::strerror(ELOOP),
      prefix + "notes.txt: not an entry's name (<uid>.<env>.json)"};
  std::sort(view.problems.begin(), view.problems.end());
  std::sort(expected.begin(), expected.end());
  CHECK(view.problems == expected);
  CHECK(gpu::read_shared_table(dir.path / "missing", probe).live.empty());
}

TEST_CASE("the table's directory must be root's or this user's, not open to all, sticky when shared",
          "[gpu][shared-table]") {
  TempDir dir;
  fs::path table = dir.path / "gpus";
  std::string fix = "an admin runs `sudo launcher setup-host` (root:launcher, mode 3775)";
  require_error([&] { gpu::require_shared_table_dir(table, false); }, ExitCode::failed,
                "the shared GPU table " + table.string() + " does not exist; " + fix);
  fs::create_symlink(dir.path, table);
  require_error([&] { gpu::require_shared_table_dir(table, false); }, ExitCode::failed,
                "refusing the shared GPU table " + table.string() + ": it is a symbolic link; " + fix);
  fs::remove(table);
  std::ofstream(table.string());
  require_error([&] { gpu::require_shared_table_dir(table, false); }, ExitCode::failed,
                "refusing the shared GPU table " + table.string() + ": not a directory; " + fix);
  fs::remove(table);
  fs::create_directory(table);
  chmod(table.c_str(), 01777);
  require_error([&] { gpu::require_shared_table_dir(table, false); }, ExitCode::failed,
                "refusing the shared GPU table " + table.string() + ": every user can write it (mode 1777); " + fix);
  chmod(table.c_str(), 02775);
  require_error([&] { gpu::require_shared_table_dir(table, true); }, ExitCode::failed,
                "refusing the shared GPU table " + table.string() +
                    ": its group may write it without the sticky bit (mode 2775), so any member could replace "
                    "another's entry; " +
                    fix);
  chmod(table.c_str(), 03775);
  gpu::require_shared_table_dir(table, true);
  if (geteuid() == 0) {
    REQUIRE(chown(table.c_str(), 1001, 1001) == 0);
    require_error([&] { gpu::require_shared_table_dir(table, false); }, ExitCode::failed,
                  "refusing the shared GPU table " + table.string() + ": it belongs to uid 1001, not root; " + fix);
  }
}

TEST_CASE("the table's lock file must exist, and a held lock names its holder", "[gpu][shared-table]") {
  TempDir dir;
  fs::path table = dir.path / "gpus";
  fs::create_directory(table);
  require_error([&] { gpu::SharedTableLock lock(table); }, ExitCode::failed,
                "the shared GPU table " + table.string() +
                    " has no lock file; an admin runs `sudo launcher setup-host` (root:launcher, mode 3775)");
  std::ofstream((table / ".lock").string());
  int held = open((table / ".lock").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(flock(held, LOCK_EX) == 0);
  std::string message = error_of([&] { gpu::SharedTableLock lock(table, std::chrono::milliseconds(100)); });
  CHECK(message.rfind("the GPU table " + (table / ".lock").string() + " has been locked by process " +
                          std::to_string(getpid()),
                      0) == 0);
  close(held);
  gpu::SharedTableLock lock(table);
}

TEST_CASE("an entry is replaced in one step, handed to conmon, removed on down, and own dead ones go",
          "[gpu][shared-table]") {
  TempDir dir;
  gpu::LivenessProbe probe = probe_of({{4100, {true, 100}}, {5000, {true, 7}}});
  unsigned me = geteuid();
  auto plant = [&](const gpu::SharedEntry& entry) {
    fs::path file = dir.path / gpu::shared_entry_file_name(entry.uid, EnvName::parse(entry.env));
    std::ofstream(file) << gpu::to_json(entry).dump();
    return file;
  };
  fs::path dead = plant(entry_of("dead", me, "me", {"GPU-b"}, 4300));
  std::optional<fs::path> others_dead;
  if (me == 0) { // as root: another user's dead entry, which only its owner removes
    others_dead = plant(entry_of("theirs", 1001, "them", {"GPU-c"}, 4300));
    REQUIRE(chown(others_dead->c_str(), 1001, 1001) == 0);
  }
  gpu::write_shared_entry(dir.path, entry_of("train", me, "me", {"GPU-a"}, 4100), probe);
  fs::path file = dir.path / (std::to_string(me) + ".train.json");
  CHECK(mode_of(file) == 0644);
  CHECK(gpu::parse_shared_entry(read_file(file), "") == entry_of("train", me, "me", {"GPU-a"}, 4100));
  CHECK_FALSE(fs::exists(dead));
  if (others_dead) CHECK(fs::exists(*others_dead));

  CHECK_FALSE(gpu::hand_entry_to(dir.path, EnvName::parse("train"), 9999, 5000, probe)); // another `up`'s
  CHECK_FALSE(gpu::hand_entry_to(dir.path, EnvName::parse("none"), 4100, 5000, probe));
  REQUIRE(gpu::hand_entry_to(dir.path, EnvName::parse("train"), 4100, 5000, probe));
  CHECK(gpu::parse_shared_entry(read_file(file), "").holder == gpu::ProcessProof{5000, 7, "boot-1"});

  gpu::remove_shared_entry(dir.path, EnvName::parse("train"));
  CHECK_FALSE(fs::exists(file));
  gpu::remove_shared_entry(dir.path, EnvName::parse("train")); // nothing left: no error
}

TEST_CASE("conmon's PID comes from the container's State.ConmonPid", "[gpu][shared-table]") {
  CHECK(gpu::conmon_pid_of(nlohmann::json::parse(R"({"State": {"ConmonPid": 4711}})")) == 4711L);
  for (const char* text : {R"({"State": {"ConmonPid": 0}})", R"({"State": {"Pid": 5}})", R"({"State": 1})",
                           R"({"State": {"ConmonPid": "4711"}})", "[]"})
    CHECK_FALSE(gpu::conmon_pid_of(nlohmann::json::parse(text)));
}

TEST_CASE("setup-host plans the group, the directory, its lock file and its mode", "[gpu][setup-host]") {
  gpu::TableSetupTarget target{"/var/lib/launcher/gpus", "launcher", 0, true};
  using Action = gpu::SetupAction;
  std::vector<gpu::SetupStep> all = gpu::plan_table_setup(target, {});
  CHECK(all == std::vector<gpu::SetupStep>{
                   {Action::create_group, "create group launcher (groupadd --system launcher)"},
                   {Action::create_directory, "create directory /var/lib/launcher/gpus, owned by root:launcher"},
                   {Action::create_lock_file, "create its lock file /var/lib/launcher/gpus/.lock (mode 644)"},
                   {Action::set_directory_mode, "set the mode of /var/lib/launcher/gpus to 3775 (setgid: entries get "
                                                "the group; sticky: no user removes another's entry)"}});

  gpu::PathFacts right_dir{S_IFDIR | 03775, 0, 990, 2}, lock{S_IFREG | 0644, 0, 990, 1};
  CHECK(gpu::plan_table_setup(target, {990, right_dir, lock}).empty());
  CHECK(gpu::plan_table_setup(target, {990, gpu::PathFacts{S_IFDIR | 0755, 0, 0, 2}, std::nullopt}) ==
        std::vector<gpu::SetupStep>{
            {Action::set_directory_group, "set the group of /var/lib/launcher/gpus to launcher (was gid 0)"},
            {Action::create_lock_file, "create its lock file /var/lib/launcher/gpus/.lock (mode 644)"},
            {Action::set_directory_mode, "set the mode of /var/lib/launcher/gpus to 3775 (was 755)"}});

  std::string planted = "; someone may have planted it: remove it, then run setup-host again";
  require_error(
      [&] {
        gpu::plan_table_setup(target, {990, gpu::PathFacts{S_IFDIR | 03775, 31001, 990, 2}, lock});
      },
      ExitCode::failed, "refusing /var/lib/launcher/gpus: it belongs to uid 31001, not root" + planted);
  require_error(
      [&] {
        gpu::plan_table_setup(target, {990, gpu::PathFacts{S_IFLNK | 0777, 0, 0, 1}, {}});
      },
      ExitCode::failed, "refusing /var/lib/launcher/gpus: it is a symbolic link" + planted);
  require_error(
      [&] {
        gpu::plan_table_setup(target, {990, gpu::PathFacts{S_IFREG | 0644, 0, 0, 1}, {}});
      },
      ExitCode::failed, "refusing /var/lib/launcher/gpus: it is not a directory" + planted);
  for (gpu::PathFacts bad_lock :
       {gpu::PathFacts{S_IFREG | 0644, 1001, 990, 1}, gpu::PathFacts{S_IFREG | 0644, 0, 990, 2},
        gpu::PathFacts{S_IFREG | 0666, 0, 990, 1}, gpu::PathFacts{S_IFLNK | 0777, 0, 990, 1}})
    require_error(
        [&] {
          gpu::plan_table_setup(target, {990, right_dir, bad_lock});
        },
        ExitCode::failed,
        "refusing /var/lib/launcher/gpus/.lock: not a regular file of root with one link and mode 644" + planted);

  target.may_create_group = false;
  require_error([&] { gpu::plan_table_setup(target, {}); }, ExitCode::failed,
                "group launcher does not exist, and setup-host --root adds no group to this host; name an existing "
                "one with --group");
}

TEST_CASE("setup-host's executor makes the table in a temporary tree, and has nothing left to do after",
          "[gpu][setup-host]") {
  TempDir dir;
  std::string group = group_name(getegid());
  gpu::TableSetupTarget target{dir.path / "var/lib/launcher/gpus", group, geteuid(), false};
  std::ostringstream said;
  gpu::execute_table_setup(target, gpu::plan_table_setup(target, gpu::read_table_setup_facts(target)), said);
  CHECK(said.str().find("done: create directory " + target.dir.string()) == 0);
  CHECK(mode_of(target.dir) == 03775);
  CHECK(mode_of(target.dir / ".lock") == 0644);
  CHECK(mode_of(target.dir.parent_path()) == 0755);
  CHECK(gpu::plan_table_setup(target, gpu::read_table_setup_facts(target)).empty());
  gpu::require_shared_table_dir(target.dir, true);
  gpu::SharedTableLock lock(target.dir);

  chmod(target.dir.c_str(), 0750);
  CHECK(gpu::plan_table_setup(target, gpu::read_table_setup_facts(target)).size() == 1);
  // A group step never runs under --root, whoever planned it.
  require_error(
      [&] {
        gpu::execute_table_setup(target, {{gpu::SetupAction::create_group, "create group x"}}, said);
      },
      ExitCode::failed, "setup-host --root adds no group to this host");
}

// The issue's test: two users (root and launcher-podman) choose GPUs through the shared table on
// the replayed 4-GPU host, each seeing the other's GPU as taken, and a dead holder's entry dropped.
TEST_CASE("two users choosing GPUs through the shared table see each other's, and a dead one's is dropped",
          "[gpu][shared-table][two-users]") {
  const passwd* other = getpwnam("launcher-podman");
  if (geteuid() != 0 || !other) {
    WARN("needs root and the user launcher-podman (tools/ensure-podman.sh makes it): not run");
    return;
  }
  TempDir dir;
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);
  gpu::TableSetupTarget table = made_table(dir, group_name(other->pw_gid));
  fs::path other_state = dir.path / "podman-state";
  REQUIRE(mkdir(other_state.c_str(), 0700) == 0);
  REQUIRE(chown(other_state.c_str(), other->pw_uid, other->pw_gid) == 0);

  // A user's `up`: its own private lease table, no container it can see, the shared table.
  auto choose = [&](const std::string& user, const fs::path& state, const std::string& env) {
    FixtureFacts facts({"gpu/4x-a100-sxm4-80gb-driver-550"});
    facts::HostQueries queries(facts, launcher::testing::replay_engine());
    launcher::testing::FakeClock clock;
    gpu::PlacementContext context{gpu::GpuHolder{"", geteuid(), user, getpid()},
                                  state / "gpus.json",
                                  {[](const std::string&) { return false; }, [](long) { return false; }},
                                  [] { return std::map<std::string, gpu::LabelledGpus>{}; },
                                  &clock,
                                  gpu::default_lease_grace,
                                  nullptr,
                                  gpu::SharedTable{table.dir, gpu::live_liveness_probe()}};
    gpu::HostGpus gpus(queries, context, gpu::Reservation::record);
    return gpus.choose(env, 1).at(0).device;
  };

  CHECK(choose("root", dir.path / "root-state", "root-env") == "1");
  int to_parent[2], to_child[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(to_child) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // launcher-podman, as setpriv --reuid --regid --clear-groups makes it.
    if (setgroups(0, nullptr) != 0 || setresgid(other->pw_gid, other->pw_gid, other->pw_gid) != 0 ||
        setresuid(other->pw_uid, other->pw_uid, other->pw_uid) != 0)
      _exit(2);
    std::string said;
    try {
      said = choose("launcher-podman", other_state, "podman-env");
    } catch (const std::exception& error) {
      said = error.what();
    }
    if (write(to_parent[1], said.data(), said.size()) < 0) _exit(3);
    close(to_parent[1]);
    char go = 0;
    _exit(read(to_child[0], &go, 1) == 1 ? 0 : 4); // holds its GPU until told to end
  }
  close(to_parent[1]);
  std::string child_said;
  char buffer[4096];
  for (ssize_t n; (n = read(to_parent[0], buffer, sizeof buffer)) > 0;)
    child_said.append(buffer, static_cast<std::size_t>(n));
  close(to_parent[0]);
  // GPUs 0 and 2 run processes, GPU 1 is root's: launcher-podman gets GPU 3.
  CHECK(child_said == "3");

  std::string message = error_of([&] { choose("root", dir.path / "root-state", "root-two"); });
  CHECK(message.find("GPU 1 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env root-env (user root, pid " +
                     std::to_string(getpid()) + ")") != std::string::npos);
  CHECK(message.find("GPU 3 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env podman-env (user launcher-podman, "
                     "pid " +
                     std::to_string(child) + ")") != std::string::npos);
  struct stat entry {};
  REQUIRE(lstat((table.dir / (std::to_string(other->pw_uid) + ".podman-env.json")).c_str(), &entry) == 0);
  CHECK(entry.st_uid == other->pw_uid);
  CHECK(entry.st_gid == other->pw_gid); // the directory's group (setgid)

  REQUIRE(write(to_child[1], "x", 1) == 1);
  close(to_child[1]);
  close(to_child[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WEXITSTATUS(status) == 0);
  // Its holder has ended: its entry holds nothing, though only its owner (or root) may remove it.
  CHECK(choose("root", dir.path / "root-state", "root-two") == "3");
}
