#include <functional>
#include <set>

#include <catch2/catch.hpp>

#include "core/env_name.hpp"

#include "core/field_count.hpp"
#include "doctor/checks.hpp"
#include "plan/plan.hpp"
#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::FakePaths;
using launcher::testing::require_error;
using launcher::testing::test_host;
using nlohmann::json;

namespace {

// A host without GPUs, for tests that ask for none.
testing::FakeGpus no_gpus;

profile::Catalog catalog_with(const json& profiles) {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  return {{profile::parse_profile_source(profile::builtin_profiles_json(), builtin),
           testing::team_source(json{{"version", 1}, {"profiles", profiles}}.dump())}};
}

plan::Resolution resolve(const json& profiles, const std::string& name = "dev", int gpus = 0,
                         const FakePaths& paths = FakePaths{}) {
  testing::FakeGpus host_gpus(gpus);
  return plan::resolve_plan(name, profile::merge_profile(catalog_with(profiles), name), test_host(gpus), paths.probe(),
                            host_gpus);
}

void require_refused(const json& fields, ExitCode code, const std::string& message, int gpus = 0) {
  require_error([&] { resolve({{"dev", fields}}, "dev", gpus); }, code, message);
}

} // namespace

TEST_CASE("defaults every GPU user needs", "[plan]") {
  plan::Plan plan = resolve({{"dev", {{"extends", "jupyter"}}}}).plan;
  CHECK(plan.shm_size_bytes == (28ULL << 30)); // half the memory limit of the 64 GiB host
  REQUIRE(plan.ulimits.size() == 2);
  CHECK(plan.ulimits[0].name == "memlock");
  CHECK(plan.ulimits[0].soft == -1);
  CHECK(plan.ulimits[0].hard == -1);
  CHECK(plan.ulimits[1].name == "stack");
  CHECK(plan.ulimits[1].soft == 67108864);
  CHECK(plan.gpus.kind == plan::GpuAssignment::Kind::none);
  CHECK(plan.user.uid == 1000);
  CHECK(plan.user.name == "alice");
  CHECK(plan.env == "project-dev");
  CHECK(resolve({{"dev", json::object()}}, "dev", 4).plan.gpus.kind == plan::GpuAssignment::Kind::all);
}

TEST_CASE("with no image named, hosts with and without GPUs run the image make up builds", "[plan]") {
  const std::string built_by_make_up = "pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime";
  CHECK(resolve({{"dev", json::object()}}).plan.image == built_by_make_up);
  CHECK(resolve({{"dev", json::object()}}, "dev", 4).plan.image == built_by_make_up);
  CHECK(resolve({{"dev", json::object()}}).profile.origin_of("/image").describe() == "default");
}

TEST_CASE("every env gets a memory limit that leaves the host room, with /dev/shm inside it", "[plan][resources]") {
  // 64 GiB host: the reserve is 10 % (6.4 GiB), more than 2 GiB.
  plan::Plan plan = resolve({{"dev", json::object()}}).plan;
  std::uint64_t limit = 58982ULL << 20; // 64 GiB less 10 %, in whole MiB
  CHECK(plan.memory_bytes == limit);
  CHECK(plan.shm_size_bytes == (28ULL << 30)); // half the limit, whole GiB
  CHECK(plan.cpu_shares == 1024);
  CHECK(plan::default_memory_limit(8ULL << 30) == (6ULL << 30)); // 2 GiB reserve
  CHECK(plan::default_memory_limit(2ULL << 30) == (1ULL << 30)); // never below half
  host::HostFacts small = test_host();
  small.memory_bytes = 1ULL << 30;
  profile::Catalog catalog = catalog_with({{"dev", json::object()}});
  plan::Plan on_small =
      plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), small, FakePaths{}.probe(), no_gpus).plan;
  CHECK(on_small.memory_bytes == (512ULL << 20));
  CHECK(on_small.shm_size_bytes == (256ULL << 20));
}

TEST_CASE("a profile's memory limit sizes the default /dev/shm, and unlimited is explicit", "[plan][resources]") {
  CHECK(resolve({{"dev", {{"resources", {{"memory", "8g"}}}}}}).plan.shm_size_bytes == (4ULL << 30));
  CHECK(resolve({{"dev", {{"shm_size", "6g"}, {"resources", {{"memory", "8g"}}}}}}).plan.shm_size_bytes ==
        (6ULL << 30));
  plan::Plan unlimited = resolve({{"dev", {{"resources", {{"memory", "unlimited"}}}}}}).plan;
  CHECK_FALSE(unlimited.memory_bytes);
  CHECK(unlimited.shm_size_bytes == (32ULL << 30)); // half the host
  require_refused({{"shm_size", "48g"}, {"resources", {{"memory", "8g"}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/shm_size: /dev/shm of 48g is above the memory limit of 8g "
                  "(launcher.json:/profiles/dev/resources/memory), which counts it; lower it or raise the limit");
}

TEST_CASE("the shm warning's advice, written into the profile, resolves and silences it", "[plan][resources][shm]") {
  for (std::string memory : {"256m", "1g", "1536m", "2g", "3g", "8g", "16g", "64g", "unlimited"}) {
    INFO(memory);
    json fields{{"shm_size", "64m"}, {"resources", {{"memory", memory}}}};
    plan::Plan small = resolve({{"dev", fields}}).plan;
    doctor::CheckResult warned = doctor::shm_check(doctor::subject_of(small));
    REQUIRE(warned.status == doctor::Status::warn);
    // The fix names each field as a profile writes it; the same fields, set, are accepted.
    for (const auto& [key, value] : doctor::shm_advice(small.memory_bytes)) {
      CHECK(warned.fix.find("\"" + key + "\": " + value.dump()) != std::string::npos);
      if (value.is_object())
        fields[key].update(value);
      else
        fields[key] = value;
    }
    plan::Plan advised = resolve({{"dev", fields}}).plan;
    CHECK(doctor::shm_check(doctor::subject_of(advised)).status == doctor::Status::ok);
  }
  CHECK(doctor::shm_check(
            doctor::subject_of(resolve({{"dev", {{"shm_size", "64m"}, {"resources", {{"memory", "256m"}}}}}}).plan))
            .fix ==
        "set \"shm_size\": \"1g\", \"resources\": {\"memory\":\"2g\"} in the profile (its memory limit of 256m "
        "counts /dev/shm), or \"ipc\": \"host\"");
  CHECK(doctor::shm_advice(std::uint64_t{8} << 30) == std::vector<std::pair<std::string, json>>{{"shm_size", "4g"}});
}

TEST_CASE("CPU sets follow the NUMA nodes of the GPUs chosen", "[plan][resources]") {
  // FakeGpus: GPUs 0-3 on node 0 (CPUs 0-15), 4-7 on node 1 (CPUs 16-31).
  plan::Resolution first = resolve({{"dev", {{"gpus", "device=1,2"}}}}, "dev", 8);
  CHECK(first.plan.cpuset_cpus == "0-15");
  CHECK(first.plan.cpuset_mems == "0");
  CHECK(first.profile.origin_of("/resources/cpuset_cpus").describe() ==
        "NUMA affinity of GPU 1, GPU 2 (fake topology)");
  plan::Resolution spread = resolve({{"dev", {{"gpus", "device=3,4"}}}}, "dev", 8);
  CHECK(spread.plan.cpuset_cpus == "0-31");
  CHECK(spread.plan.cpuset_mems == "0-1");
  // {"count": N} is placed by the host: the plan holds the GPUs `up` runs with.
  testing::FakeGpus busy(8);
  busy.taken = 4;
  profile::Catalog catalog = catalog_with({{"dev", {{"gpus", {{"count", 2}}}}}});
  plan::Plan chosen =
      plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), test_host(8), FakePaths{}.probe(), busy).plan;
  CHECK(chosen.gpus.devices == std::vector<std::string>{"4", "5"});
  CHECK(chosen.cpuset_cpus == "16-31");
  CHECK(chosen.cpuset_mems == "1");
  // Every GPU (no choice) and no GPU get no set; so does a host that does not know its topology.
  CHECK(resolve({{"dev", {{"gpus", "all"}}}}, "dev", 8).plan.cpuset_cpus.empty());
  CHECK(resolve({{"dev", json::object()}}).plan.cpuset_cpus.empty());
  testing::FakeGpus unknown(8);
  unknown.topology_known = false;
  catalog = catalog_with({{"dev", {{"gpus", "device=1"}}}});
  plan::Resolution blind =
      plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), test_host(8), FakePaths{}.probe(), unknown);
  CHECK(blind.plan.cpuset_cpus.empty());
  CHECK(blind.plan.cpuset_mems.empty());
}

TEST_CASE("a profile's CPU set wins over the GPUs' and must exist on the host", "[plan][resources]") {
  plan::Plan fixed =
      resolve({{"dev", {{"gpus", "device=1"}, {"resources", {{"cpuset_cpus", "2-5"}, {"cpuset_mems", "all"}}}}}}, "dev",
              8)
          .plan;
  CHECK(fixed.cpuset_cpus == "2-5");
  CHECK(fixed.cpuset_mems.empty());
  CHECK(resolve({{"dev", {{"gpus", "device=1"}, {"resources", {{"cpuset_cpus", "all"}}}}}}, "dev", 8)
            .plan.cpuset_cpus.empty());
  require_refused({{"resources", {{"cpuset_cpus", "30-40"}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/resources/cpuset_cpus: 30-40 names CPUs this host does not have "
                  "(32-40); it has 0-31");
  require_refused(
      {{"resources", {{"cpuset_mems", "2"}}}}, ExitCode::usage,
      "launcher.json:/profiles/dev/resources/cpuset_mems: 2 names NUMA nodes this host does not have (2); it has 0-1");
  CHECK(resolve({{"dev", {{"resources", {{"cpu_shares", 512}}}}}}).plan.cpu_shares == 512);
}

TEST_CASE("the default environment name is the directory's, or carries its path's hash when it is not faithful",
          "[plan][env-name]") {
  CHECK(plan::default_env_name("/home/alice/project", "jupyter") == "project-jupyter");
  CHECK(plan::default_env_name("/", "shell") == "shell");
  // SHA-256 of the absolute path, first 8 hex digits (python3 hashlib gives the same).
  CHECK(plan::default_env_name("/home/alice/my project", "jupyter") == "my-project-cf24a22e-jupyter");
  CHECK(plan::default_env_name("/home/alice/.hidden", "ssh") == "hidden-7f235fe5-ssh");
  CHECK(plan::default_env_name("/home/alice/étude", "jupyter") == "tude-1a792068-jupyter");
}

TEST_CASE("directories whose names render alike never share a default environment name", "[plan][env-name]") {
  std::set<std::string> names;
  std::vector<std::string> directories{"/p/a b",
                                       "/p/a:b",
                                       "/p/a'b",
                                       "/p/a\\b",
                                       "/p/a-b",
                                       "/p/日本",
                                       "/p/Проект",
                                       "/p/" + std::string(200, 'x'),
                                       "/q/" + std::string(200, 'x'),
                                       "/p/" + std::string(199, 'x') + "y"};
  for (const auto& directory : directories) {
    std::string name = plan::default_env_name(directory, "jupyter");
    CAPTURE(directory, name);
    CHECK(env_name_problem(name).empty());
    CHECK(name.size() <= max_env_name_length);
    CHECK(name.substr(name.size() - 8) == "-jupyter");
    names.insert(name);
  }
  CHECK(names.size() == directories.size());
  CHECK(names.count("a-b-jupyter") == 1); // only the directory really named "a-b" gets it
  CHECK(plan::default_env_name("/p/日本", "jupyter") != "jupyter");
  // A profile name too long to add: the hash covers it, and the name still fits.
  std::string long_profile(120, 'p');
  std::string name = plan::default_env_name("/p/project", long_profile);
  CHECK(env_name_problem(name).empty());
  CHECK(name != plan::default_env_name("/p/project", long_profile + "q"));
}

TEST_CASE("GPU counts resolve to concrete devices on the host", "[plan]") {
  CHECK(resolve({{"dev", {{"gpus", 2}}}}, "dev", 4).plan.gpus.devices == std::vector<std::string>{"0", "1"});
  CHECK(resolve({{"dev", {{"gpus", {{"count", 1}}}}}}, "dev", 4).plan.gpus.devices == std::vector<std::string>{"0"});
  require_refused({{"gpus", 2}}, ExitCode::host_incapable,
                  "launcher.json:/profiles/dev/gpus: asks for 2 GPU(s), this host has 0");
  CHECK(resolve({{"dev", {{"gpus", "device=2,3"}}}}, "dev", 0).plan.gpus.devices == std::vector<std::string>{"2", "3"});
}

TEST_CASE("host paths must exist unless the volume creates them", "[plan]") {
  require_refused(
      {{"volumes", {{{"host", "missing"}, {"container", "/m"}}}}}, ExitCode::usage,
      "launcher.json:/profiles/dev/volumes/0: host path /home/alice/project/missing does not exist (create it, "
      "or add \"create\": true to the volume)");
  plan::Plan plan =
      resolve({{"dev", {{"volumes", {{{"host", "missing"}, {"container", "/m"}, {"create", true}}}}}}}).plan;
  CHECK(plan.create_directories == std::vector<std::string>{"/home/alice/project/missing"});
  CHECK(plan.mounts[0].source == "/home/alice/project/missing");
}

TEST_CASE("dangerous requests need an opt-in by name", "[plan]") {
  require_refused({{"volumes", {{{"host", "/"}, {"container", "/host"}}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/volumes/0: mounting the host's / is refused; add \"mount-root\" to the "
                  "profile's \"allow\" list if you mean it");
  require_refused({{"volumes", {{{"host", "/etc"}, {"container", "/host-etc"}}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/volumes/0: mounting /etc (the host's configuration) is refused; add "
                  "\"mount-etc\" to the profile's \"allow\" list if you mean it");
  require_refused(
      {{"volumes", {{{"host", "/var/run/docker.sock"}, {"container", "/var/run/docker.sock"}}}}}, ExitCode::usage,
      "launcher.json:/profiles/dev/volumes/0: mounting the Docker socket /run/docker.sock (root on the host) is "
      "refused; add \"mount-docker-socket\" to the profile's \"allow\" list if you mean it");
  require_refused(
      {{"privileged", true}}, ExitCode::usage,
      "launcher.json:/profiles/dev/privileged: --privileged (every device and capability of the host) is refused; "
      "add \"privileged\" to the profile's \"allow\" list if you mean it");
  require_refused(
      {{"ports", {{{"container", 8000}, {"bind", "0.0.0.0"}}}}}, ExitCode::usage,
      "launcher.json:/profiles/dev/ports/0: publishing port 8000 on 0.0.0.0 for service \"shell\", which has no "
      "authentication is refused; add \"unauthenticated-public-port\" to the profile's \"allow\" list if you mean it");

  plan::Plan allowed =
      resolve({{"dev",
                {{"privileged", true},
                 {"volumes", {{{"host", "/var/run/docker.sock"}, {"container", "/var/run/docker.sock"}}}},
                 {"ports", {{{"container", 8000}, {"bind", "0.0.0.0"}}}},
                 {"allow", {"privileged", "mount-docker-socket", "unauthenticated-public-port"}}}}})
          .plan;
  CHECK(allowed.privileged);
  CHECK(allowed.mounts[0].source == "/var/run/docker.sock");
  // Jupyter and sshd authenticate every request, so they may listen beyond loopback.
  CHECK(resolve({{"dev", {{"extends", "ssh"}, {"ports", {{{"host", 2222}, {"container", 22}, {"bind", "0.0.0.0"}}}}}}})
            .plan.ports[0]
            .bind == "0.0.0.0");
}

TEST_CASE("a host port is published once per address and protocol", "[plan]") {
  require_refused({{"ports", {{{"host", 8888}, {"container", 8888}}, {{"host", 8888}, {"container", 9999}}}}},
                  ExitCode::usage,
                  "launcher.json:/profiles/dev/ports/1: host port 8888/tcp on 127.0.0.1 is already published by "
                  "launcher.json:/profiles/dev/ports/0");
  require_refused(
      {{"ports", {{{"host", 80}, {"container", 80}, {"bind", "0.0.0.0"}}, {{"host", 80}, {"container", 81}}}},
       {"allow", {"unauthenticated-public-port"}}},
      ExitCode::usage,
      "launcher.json:/profiles/dev/ports/1: host port 80/tcp on 127.0.0.1 is already published by "
      "launcher.json:/profiles/dev/ports/0");
  CHECK(resolve({{"dev",
                  {{"ports",
                    {{{"host", 53}, {"container", 53}}, {{"host", 53}, {"container", 54}, {"protocol", "udp"}}}}}}})
            .plan.ports.size() == 2);
  CHECK(resolve({{"dev", {{"ports", {{{"host", "auto"}, {"container", 1}}, {{"host", "auto"}, {"container", 2}}}}}}})
            .plan.ports.size() == 2);
}

TEST_CASE("command goes with the command service only", "[plan]") {
  require_refused({{"service", "command"}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/service: service \"command\" needs a \"command\" to run");
  require_refused({{"service", "jupyter"}, {"command", {"python"}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/command: a \"command\" is only run with \"service\": \"command\" (this "
                  "profile's service is \"jupyter\")");
  CHECK(resolve({{"dev", {{"service", "command"}, {"command", {"python", "train.py"}}}}}).plan.command ==
        std::vector<std::string>{"python", "train.py"});
}

TEST_CASE("users: host, root, or explicit ids", "[plan]") {
  CHECK(resolve({{"dev", {{"user", "root"}}}}).plan.user.uid == 0);
  plan::User explicit_user = resolve({{"dev", {{"user", {{"uid", 2000}, {"gid", 3000}}}}}}).plan.user;
  CHECK(explicit_user.uid == 2000);
  CHECK(explicit_user.gid == 3000);
  CHECK(explicit_user.name == "user");
}

TEST_CASE("the plan hash follows the plan", "[plan]") {
  plan::Plan a = resolve({{"dev", {{"extends", "jupyter"}}}}).plan;
  plan::Plan b = a;
  CHECK(plan::plan_hash(a) == plan::plan_hash(b));
  CHECK(plan::plan_hash(a).size() == 64);
  b.gpus = {plan::GpuAssignment::Kind::devices, {"0"}};
  CHECK(plan::plan_hash(a) != plan::plan_hash(b));
}

TEST_CASE("jupyter and ssh environments mount their secrets directory", "[plan]") {
  plan::Plan jupyter = resolve({{"dev", {{"extends", "jupyter"}}}}).plan;
  CHECK(jupyter.access.secrets_dir == "/home/alice/.local/state/launcher/envs/project-dev/secrets");
  CHECK(jupyter.access.jupyter_auth == plan::JupyterAuth::token);
  plan::Plan ssh = resolve({{"dev", {{"extends", "ssh"}, {"ssh", {{"password", true}}}, {"sudo", true}}}}).plan;
  CHECK(ssh.access.ssh_password);
  CHECK(ssh.user.sudo);
  CHECK_FALSE(ssh.access.ssh_forwarding.agent);
  CHECK_FALSE(ssh.access.ssh_forwarding.stream_local);
  CHECK_FALSE(ssh.access.ssh_forwarding.user_rc);
  plan::Plan forwarding =
      resolve({{"dev", {{"extends", "ssh"}, {"ssh", {{"agent_forwarding", true}, {"user_rc", true}}}}}}).plan;
  CHECK(forwarding.access.ssh_forwarding.agent);
  CHECK_FALSE(forwarding.access.ssh_forwarding.stream_local);
  CHECK(forwarding.access.ssh_forwarding.user_rc);
  CHECK(plan::to_json(forwarding)["access"]["ssh_forwarding"] ==
        json{{"agent", true}, {"stream_local", false}, {"user_rc", true}});
  CHECK(plan::plan_hash(forwarding) != plan::plan_hash(resolve({{"dev", {{"extends", "ssh"}}}}).plan));
  CHECK(resolve({{"dev", {{"extends", "shell"}}}}).plan.access.secrets_dir.empty());
  require_refused({{"extends", "shell"}, {"ssh", {{"password", true}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/ssh/password: SSH settings need \"service\": \"ssh\" (this profile's "
                  "service is \"shell\")");
  require_refused({{"extends", "ssh"}, {"jupyter", {{"auth", "password"}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/jupyter/auth: Jupyter settings need \"service\": \"jupyter\" (this "
                  "profile's service is \"ssh\")");
}

TEST_CASE("memlock is unlimited unless the Docker daemon cannot grant it", "[plan]") {
  host::HostFacts sandboxed = test_host();
  sandboxed.memlock_ceiling = 8388608;
  profile::Catalog catalog = catalog_with({{"dev", json::object()}});
  plan::Plan plan =
      plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), sandboxed, FakePaths{}.probe(), no_gpus).plan;
  CHECK(plan.ulimits[0].name == "memlock");
  CHECK(plan.ulimits[0].soft == 8388608);
  CHECK(plan.ulimits[0].hard == 8388608);
}

TEST_CASE("a read-only root is opt-in and refuses sudo, which must write /etc", "[plan][resources]") {
  CHECK_FALSE(resolve({{"dev", json::object()}}).plan.read_only_root);
  CHECK(resolve({{"dev", {{"read_only_root", true}}}}).plan.read_only_root);
  require_refused(
      {{"read_only_root", true}, {"sudo", true}}, ExitCode::usage,
      "launcher.json:/profiles/dev/sudo: sudo writes its rule to /etc/sudoers.d, which \"read_only_root\": true "
      "(launcher.json:/profiles/dev/read_only_root) keeps read-only; drop one of them");
}

TEST_CASE("every member of a plan changes its hash", "[plan][hash]") {
  using plan::Plan;
  using Change = std::function<void(Plan&)>;
  // One change per member of Plan; the count below ties the list to the struct.
  const std::vector<std::pair<std::string, Change>> changes{
      {"env", [](Plan& p) { p.env = "other"; }},
      {"profile", [](Plan& p) { p.profile = "other"; }},
      {"image", [](Plan& p) { p.image = "other:1"; }},
      {"service", [](Plan& p) { p.service = plan::Service::shell; }},
      {"command", [](Plan& p) { p.command = {"true"}; }},
      {"gpus",
       [](Plan& p) {
         p.gpus = {plan::GpuAssignment::Kind::devices, {"1"}};
       }},
      {"gpu_runtime", [](Plan& p) { p.gpu_runtime = host::GpuRuntime::cdi; }},
      {"ports",
       [](Plan& p) {
         p.ports.push_back({"127.0.0.1", 9000, 9000, plan::Protocol::tcp});
       }},
      {"mounts",
       [](Plan& p) {
         p.mounts.push_back({"/data", "/data", true});
       }},
      {"create_directories", [](Plan& p) { p.create_directories = {"/data"}; }},
      {"environment", [](Plan& p) { p.environment["A"] = "1"; }},
      {"workdir", [](Plan& p) { p.workdir = "/other"; }},
      {"user", [](Plan& p) { p.user.sudo = !p.user.sudo; }},
      {"access", [](Plan& p) { p.access.ssh_forwarding.user_rc = !p.access.ssh_forwarding.user_rc; }},
      {"shm_size_bytes", [](Plan& p) { p.shm_size_bytes += 1; }},
      {"ipc", [](Plan& p) { p.ipc = plan::Ipc::host; }},
      {"ulimits",
       [](Plan& p) {
         p.ulimits.push_back({"core", 0, 0});
       }},
      {"cpus", [](Plan& p) { p.cpus = 3.5; }},
      {"memory_bytes", [](Plan& p) { p.memory_bytes = 1ULL << 30; }},
      {"cpu_shares", [](Plan& p) { p.cpu_shares = 2048; }},
      {"cpuset_cpus", [](Plan& p) { p.cpuset_cpus = "0-1"; }},
      {"cpuset_mems", [](Plan& p) { p.cpuset_mems = "0"; }},
      {"pids_limit", [](Plan& p) { p.pids_limit = 77; }},
      {"restart",
       [](Plan& p) {
         p.restart = {plan::Restart::Policy::always, std::nullopt};
       }},
      {"labels", [](Plan& p) { p.labels["x"] = "y"; }},
      {"privileged", [](Plan& p) { p.privileged = !p.privileged; }},
      {"read_only_root", [](Plan& p) { p.read_only_root = !p.read_only_root; }},
      {"network", [](Plan& p) { p.network = "shared"; }},
      {"self_stop", [](Plan& p) { p.self_stop.max_age_seconds = 60; }},
      {"backup", [](Plan& p) { p.backup = plan::Backup{"s3://b/e", {"/ckpt"}, 1800, 5, "", ""}; }},
  };
  CHECK(changes.size() == field_count<Plan>());
  const Plan base = resolve(json{{"dev", {{"extends", "jupyter"}, {"gpus", "none"}}}}).plan;
  std::set<std::string> hashes{plan::plan_hash(base)};
  for (const auto& [member, change] : changes) {
    Plan changed = base;
    change(changed);
    INFO(member);
    CHECK(hashes.insert(plan::plan_hash(changed)).second);
  }
}

TEST_CASE("idle and max_age reach the plan, idle only for jupyter and ssh, neither with a restart policy",
          "[plan][idle]") {
  plan::Plan plan =
      resolve({{"dev", {{"extends", "jupyter"}, {"idle", {{"stop_after", "2h"}}}, {"max_age", "3d"}}}}).plan;
  CHECK(plan.self_stop.idle_seconds == 7200);
  CHECK(plan.self_stop.idle_gpu_util_below == 5);
  CHECK(plan.self_stop.max_age_seconds == 259200);
  CHECK(plan::to_json(plan)["idle"] == json{{"stop_after", 7200}, {"gpu_util_below", 5}});
  CHECK(plan::to_json(plan)["max_age"] == 259200);
  plan::Plan plain = resolve({{"dev", {{"extends", "jupyter"}}}}).plan;
  CHECK_FALSE(plain.self_stop.idle_seconds);
  CHECK_FALSE(plan::to_json(plain).contains("idle")); // envs made before these keys keep their plan hash
  CHECK_FALSE(plan::to_json(plain).contains("max_age"));
  // max_age ends any env, a command's too.
  CHECK(resolve({{"dev", {{"service", "command"}, {"command", {"sleep", "9"}}, {"max_age", "1h"}}}})
            .plan.self_stop.max_age_seconds == 3600);

  require_refused({{"extends", "shell"}, {"idle", {{"stop_after", "2h"}}}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/idle: \"idle\" needs the jupyter or ssh service, whose users come and "
                  "go; a shell env ends when its program does (this profile's service is \"shell\")");
  require_refused({{"extends", "ssh"}, {"idle", {{"stop_after", "2h"}}}, {"restart", "unless-stopped"}},
                  ExitCode::usage,
                  "launcher.json:/profiles/dev/restart: \"restart\": \"unless-stopped\" would start again an env that "
                  "\"idle\" (launcher.json:/profiles/dev/idle) stops; use \"restart\": \"no\" or drop one");
  require_refused({{"extends", "ssh"}, {"max_age", "1h"}, {"restart", "on-failure"}}, ExitCode::usage,
                  "launcher.json:/profiles/dev/restart: \"restart\": \"on-failure\" would start again an env that "
                  "\"max_age\" (launcher.json:/profiles/dev/max_age) stops; use \"restart\": \"no\" or drop one");
}

TEST_CASE("backup reaches the plan with the env's own repository, and a plan without it keeps its hash",
          "[plan][backup]") {
  plan::Plan plan =
      resolve(
          {{"dev",
            {{"extends", "shell"}, {"name", "train"}, {"backup", {{"to", "s3://ckpt/team"}, {"paths", {"/ckpt"}}}}}}})
          .plan;
  REQUIRE(plan.backup);
  CHECK(plan.backup->repository == "s3://ckpt/team/train");
  CHECK(plan.backup->paths == std::vector<std::string>{"/ckpt"});
  CHECK(plan.backup->every_seconds == 1800);
  CHECK(plan.backup->keep == 5);
  CHECK(plan.backup->endpoint.empty());
  CHECK(plan.backup->credentials_profile.empty());
  // A shell env has no secrets of its own, but the backup's keys travel through the secrets directory.
  CHECK(plan.access.secrets_dir == "/home/alice/.local/state/launcher/envs/train/secrets");
  CHECK(plan::to_json(plan)["backup"] == json{{"repository", "s3://ckpt/team/train"},
                                              {"paths", {"/ckpt"}},
                                              {"every", 1800},
                                              {"keep", 5},
                                              {"endpoint", ""},
                                              {"credentials", ""}});
  plan::Plan plain = resolve({{"dev", {{"extends", "shell"}, {"name", "train"}}}}).plan;
  CHECK_FALSE(plain.backup);
  CHECK_FALSE(plan::to_json(plain).contains("backup"));
  CHECK(plain.access.secrets_dir.empty());
}
