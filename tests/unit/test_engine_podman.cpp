// The argv PodmanEngine produces for each operation (golden), from Podman's recorded answers
// (tests/fixtures/podman/); DockerEngine's argv is the commands' tests' (test_commands*.cpp).
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_bench.hpp"
#include "core/read_file.hpp"
#include "doctor/checks.hpp"
#include "doctor/snapshot.hpp"
#include "doctor_fixtures.hpp"
#include "engine/docker_engine.hpp"
#include "engine/podman_engine.hpp"
#include "fake_docker.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::builtin_plan;
using launcher::testing::CliBench;
using launcher::testing::contains;
using launcher::testing::FakeDocker;
using nlohmann::json;
using Argv = std::vector<std::string>;

namespace {

const std::string podman_fixtures = std::string(LAUNCHER_FIXTURES_DIR) + "/podman/";

bool has_option(const render::ContainerCommand& command, const Argv& option) {
  return std::find(command.options.begin(), command.options.end(), option) != command.options.end();
}

// Podman's options less Docker's: what the Podman engine adds to the same plan.
std::vector<Argv> added_options(const plan::Plan& plan) {
  FakeDocker fake;
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  auto docker_command = docker_engine.container_command(engine::Launch::detached, plan, "/state/env");
  auto podman_command = podman.container_command(engine::Launch::detached, plan, "/state/env");
  CHECK(podman_command.image_and_command == docker_command.image_and_command);
  // Podman 4.3 refuses "host-gateway": the one option of Docker's it leaves out.
  const Argv host_gateway{"--add-host", "host.docker.internal:host-gateway"};
  CHECK(has_option(docker_command, host_gateway));
  CHECK_FALSE(has_option(podman_command, host_gateway));
  docker_command.options.erase(std::find(docker_command.options.begin(), docker_command.options.end(), host_gateway));
  REQUIRE(podman_command.options.size() >= docker_command.options.size());
  CHECK(std::equal(docker_command.options.begin(), docker_command.options.end(), podman_command.options.begin()));
  return {podman_command.options.begin() + static_cast<std::ptrdiff_t>(docker_command.options.size()),
          podman_command.options.end()};
}

// The fake CLI's answers to an `up` that starts a new env.
void answer_a_new_env(CliBench& bench) {
  std::string hash = bench.plan_hash();
  bench.has_no_container();
  bench.docker.on({"network", "create"}, "n1\n");
  bench.docker.on({"run", "-d"}, "c0ffee\n");
  bench.has_container(hash, true);
}

} // namespace

TEST_CASE("Podman's run command keeps the host user's uid, starts launcher-init as root, and lets sshd bind 22",
          "[engine][podman]") {
  const Argv keep_id{"--userns", "keep-id"}, root{"--user", "0:0"}, own_passwd{"--passwd=false"};
  const Argv low_ports{"--sysctl", "net.ipv4.ip_unprivileged_port_start=0"};
  CHECK(added_options(builtin_plan("ssh", 0)) == std::vector<Argv>{keep_id, root, own_passwd, low_ports});
  // Jupyter's 8888 needs no sysctl.
  CHECK(added_options(builtin_plan("jupyter", 0)) == std::vector<Argv>{keep_id, root, own_passwd});

  FakeDocker fake;
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  auto run = podman.container_command(engine::Launch::detached, builtin_plan("shell", 0), "/state/env");
  CHECK(run.program == Argv{"podman", "run", "-d"});
  CHECK(has_option(run, keep_id));
  CHECK(podman.container_command(engine::Launch::created, builtin_plan("shell", 0), "").program ==
        Argv{"podman", "create"});
  fake.on({"run", "-d"}, "c0ffee\n");
  podman.run(run, "start e");
  REQUIRE(fake.calls().size() == 1);
  const Argv argv = run.argv();
  CHECK(fake.calls()[0] == Argv(argv.begin() + 1, argv.end()));
}

TEST_CASE("Podman's networks are isolated from each other, have no Docker bridge option, and are labelled as Docker's",
          "[engine][podman]") {
  FakeDocker fake;
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  const engine::NetworkSpec own{"launcher-e", {{"io.launcher.env", "e"}}, true};
  podman.create_network(own);
  docker_engine.create_network(own);
  podman.create_network({"team", {{"io.launcher.network", "shared"}}, false});
  REQUIRE(fake.calls().size() == 3);
  CHECK(fake.calls()[0] == Argv{"network", "create", "--driver", "bridge", "--opt", "isolate=true", "--label",
                                "io.launcher.env=e", "launcher-e"});
  CHECK(fake.calls()[1] == Argv{"network", "create", "--driver", "bridge", "--opt",
                                "com.docker.network.bridge.enable_icc=false", "--label", "io.launcher.env=e",
                                "launcher-e"});
  CHECK(fake.calls()[2] == Argv{"network", "create", "--driver", "bridge", "--opt", "isolate=true", "--label",
                                "io.launcher.network=shared", "team"});
}

TEST_CASE("Podman's listing asks for every label at once and reads Docker's state words from its status text",
          "[engine][podman]") {
  FakeDocker fake;
  fake.on({"ps"}, read_file(podman_fixtures + "ps-listing-json-labels.jsonl"));
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  auto listed =
      podman.list_labelled("io.launcher.env", {"io.launcher.env", "io.launcher.profile", "io.launcher.backup"});
  REQUIRE(fake.calls().size() == 1);
  CHECK(fake.calls()[0] == Argv{"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format",
                                docker::listing_format_all_labels()});
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].name == "pj");
  CHECK(listed[0].state == "running");
  CHECK(listed[0].status == "Up About a minute ago");
  CHECK(listed[0].image == "pytorch-cpu:1.13.0a0-debian12");
  CHECK(listed[0].ports == "127.0.0.1:42833->8888/tcp");
  CHECK(listed[0].labels.at("io.launcher.profile") == "jupyter");
  CHECK(listed[0].labels.at("io.launcher.backup").empty()); // asked for, not on the container
  CHECK(listed[1].state == "exited");
}

TEST_CASE("podman_state turns Podman's status text into Docker's state word", "[engine][podman]") {
  CHECK(engine::podman_state("Up 3 hours") == "running");
  CHECK(engine::podman_state("Exited (137) 2 seconds ago") == "exited");
  CHECK(engine::podman_state("Created") == "created");
  CHECK(engine::podman_state("Paused") == "paused");
  CHECK(engine::podman_state("Stopping") == "stopping");
  CHECK(engine::podman_state("Configured") == "configured");
  CHECK(engine::short_image_name("docker.io/library/pytorch-cpu:1") == "pytorch-cpu:1");
  CHECK(engine::short_image_name("localhost/snap:1") == "localhost/snap:1");
  CHECK(engine::short_image_name("ghcr.io/x/y:1") == "ghcr.io/x/y:1");
}

TEST_CASE("Podman's other operations are spelled as Docker's", "[engine][podman]") {
  FakeDocker fake;
  fake.on({"network", "ls"}, "launcher-a\n\nlauncher-b\n");
  fake.on({"network", "inspect", "--format", "{{index .Labels \"io.launcher.env\"}}", "launcher-a"}, "a\n");
  fake.on({"network", "inspect", "--format", "{{index .Labels \"io.launcher.env\"}}"}, "", 125,
          "Error: unable to find network with name or ID launcher-z: network not found");
  fake.on({"container", "inspect", "e"}, R"([{"GraphDriver": {"Name": "vfs", "Data": {}}}])");
  fake.on({}, "");
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  podman.start("e");
  podman.stop("e", std::chrono::seconds(7));
  podman.remove("e");
  CHECK(podman.remove_forced("e"));
  podman.changed_files("e");
  podman.exec("e", {"1001", "/workspace"}, {"python3", "-V"});
  podman.exec("e", {}, {"true"});
  podman.commit("e", {"LABEL a=\"\""}, "snap:1", "snapshot e");
  podman.copy_out("e", "/tmp/r", "/host/dir", "copy");
  CHECK(podman.network_exists("launcher-e"));
  CHECK(podman.remove_network("launcher-e"));
  CHECK(podman.networks_labelled("io.launcher.env") == Argv{"launcher-a", "launcher-b"});
  CHECK(podman.network_label("launcher-a", "io.launcher.env") == "a");
  CHECK(podman.network_label("launcher-z", "io.launcher.env") == std::nullopt);
  const std::vector<Argv> expected{
      {"start", "e"},
      {"stop", "--time", "7", "e"},
      {"rm", "e"},
      {"rm", "-f", "e"},
      {"container", "inspect", "e"},
      {"diff", "e"}, // no overlay layers to read: Podman's own diff
      {"exec", "-u", "1001", "-w", "/workspace", "e", "python3", "-V"},
      {"exec", "e", "true"},
      {"commit", "--pause=true", "--format", "oci", "--change", "LABEL a=\"\"", "e", "snap:1"}, // one, OCI
      {"cp", "e:/tmp/r/.", "/host/dir"},
      {"network", "inspect", "--format", "{{.Name}}", "launcher-e"},
      {"network", "rm", "launcher-e"},
      {"network", "ls", "--filter", "label=io.launcher.env", "--format", "{{.Name}}"},
      {"network", "inspect", "--format", "{{index .Labels \"io.launcher.env\"}}", "launcher-a"},
      {"network", "inspect", "--format", "{{index .Labels \"io.launcher.env\"}}", "launcher-z"},
  };
  CHECK(fake.calls() == expected);
}

TEST_CASE("the host facts' queries are spelled alike by Docker and Podman", "[engine][podman][facts]") {
  FakeDocker fake;
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  for (const engine::Engine* engine : std::vector<const engine::Engine*>{&docker_engine, &podman}) {
    INFO(engine->name());
    CHECK(engine->version_query() == Argv{"version", "--format", "{{json .}}"});
    CHECK(engine->info_query() == Argv{"info", "--format", "{{json .}}"});
    CHECK(engine->image_labels_query("img:1") ==
          Argv{"image", "inspect", "--format", "{{json .Config.Labels}}", "img:1"});
    CHECK(engine->container_inspect_query("e") == Argv{"container", "inspect", "--format", "{{json .}}", "e"});
    CHECK(engine->exec_query("e", {"nvidia-smi", "-L"}) == Argv{"exec", "e", "nvidia-smi", "-L"});
    CHECK(engine->read_image_file_query("img:1", "/opt/packages.json") == Argv{"run", "--rm", "--pull", "never",
                                                                               "--network", "none", "--entrypoint",
                                                                               "cat", "img:1", "/opt/packages.json"});
  }
  CHECK(fake.calls().empty()); // a query is words, not a call
}

TEST_CASE("a running or paused labelled container is asked of either engine by one ps, and no answer is nullopt",
          "[engine][podman][gpu][lock]") {
  // Docker's ps lists paused containers by itself; Podman's only with -a and their status named.
  const Argv podman_statuses{"--filter", "status=running", "--filter", "status=paused"};
  FakeDocker fake;
  for (const Argv& ps : {Argv{"ps", "-q"}, Argv{"ps", "-a", "-q"}}) {
    auto filters = [&](const std::string& env) {
      Argv argv = ps;
      argv.insert(argv.end(), {"--filter", "label=io.launcher.env=" + env});
      if (ps.size() == 3) argv.insert(argv.end(), podman_statuses.begin(), podman_statuses.end());
      return argv;
    };
    fake.on(filters("alive"), "c0ffee\n");
    fake.on(filters("stopped"), "");
  }
  fake.on({"ps"}, "", 125, "Error: cannot connect to Podman");
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  for (const engine::Engine* engine : std::vector<const engine::Engine*>{&docker_engine, &podman}) {
    INFO(engine->name());
    CHECK(engine->any_running_labelled("io.launcher.env=alive") == true);
    CHECK(engine->any_running_labelled("io.launcher.env=stopped") == false);
    CHECK(engine->any_running_labelled("io.launcher.env=unknown") == std::nullopt);
  }
  std::vector<Argv> expected;
  for (const char* env : {"alive", "stopped", "unknown"})
    expected.push_back({"ps", "-q", "--filter", std::string("label=io.launcher.env=") + env});
  for (const char* env : {"alive", "stopped", "unknown"}) {
    expected.push_back({"ps", "-a", "-q", "--filter", std::string("label=io.launcher.env=") + env});
    expected.back().insert(expected.back().end(), podman_statuses.begin(), podman_statuses.end());
  }
  CHECK(fake.calls() == expected);
}

TEST_CASE("Podman's own words for a stopped or absent container are explained", "[engine][podman][docker]") {
  CHECK(docker::explain_failure("run a command in e", "Error: container state improper") ==
        "failed to run a command in e: the container is not running (container state improper); start it with "
        "`launcher up ENV`");
  CHECK(docker::explain_failure("stop e", "Error: no such container e") ==
        "failed to stop e: there is no such container (no such container e); `launcher ps` lists them");
  // Docker's own words stay as they were.
  CHECK(docker::explain_failure("stop e", "Error response from daemon: No such container: e") ==
        "failed to stop e: No such container: e");
}

// How Docker spells what the commands' tests (test_commands*.cpp) see as operations of the fake engine.
TEST_CASE("up under Docker makes the env's network without looking first and runs the plan labelled with its hash",
          "[engine][docker][commands][up]") {
  CliBench bench;
  std::string hash = bench.plan_hash();
  answer_a_new_env(bench);
  REQUIRE(bench.run(
              {"up", "--profile", "shell", "--name", testing::env, "--image", testing::image, "--gpus", "none"}) == 0);
  INFO(bench.err.str());
  auto created = bench.docker.calls_to({"network", "create"});
  REQUIRE(created.size() == 1);
  CHECK(created[0] == Argv{"network", "create", "--driver", "bridge", "--opt",
                           "com.docker.network.bridge.enable_icc=false", "--label", "io.launcher.env=" + testing::env,
                           "launcher-" + testing::env});
  CHECK(bench.docker.calls_to({"network", "inspect"}).empty());
  auto runs = bench.docker.calls_to({"run", "-d"});
  REQUIRE(runs.size() == 1);
  CHECK(std::find(runs[0].begin(), runs[0].end(), "io.launcher.plan-hash=" + hash) != runs[0].end());
  CHECK(runs[0].back() == testing::image);
}

TEST_CASE("Docker's shared network is a plain labelled bridge", "[engine][docker]") {
  FakeDocker fake;
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  docker_engine.create_network({"team-net", {{"io.launcher.network", "shared"}}, false});
  CHECK(fake.calls() == std::vector<Argv>{{"network", "create", "--driver", "bridge", "--label",
                                           "io.launcher.network=shared", "team-net"}});
}

TEST_CASE("up --engine podman makes the env's network isolated the Podman way and runs Podman's command",
          "[engine][podman][commands][up]") {
  CliBench bench;
  answer_a_new_env(bench);
  REQUIRE(bench.run({"--engine", "podman", "up", "--profile", "shell", "--name", testing::env, "--image",
                     testing::image, "--gpus", "none"}) == 0);
  INFO(bench.err.str());
  auto created = bench.docker.calls_to({"network", "create"});
  REQUIRE(created.size() == 1);
  CHECK(created[0] == Argv{"network", "create", "--driver", "bridge", "--opt", "isolate=true", "--label",
                           "io.launcher.env=" + testing::env, "launcher-" + testing::env});
  auto runs = bench.docker.calls_to({"run", "-d"});
  REQUIRE(runs.size() == 1);
  const Argv keep_id{"--userns", "keep-id"};
  CHECK(std::search(runs[0].begin(), runs[0].end(), keep_id.begin(), keep_id.end()) != runs[0].end());
}

TEST_CASE("ps and render say which engine they used", "[engine][podman][commands][ps]") {
  CliBench bench;
  bench.docker.on({"ps", "-a", "--no-trunc"}, read_file(podman_fixtures + "ps-listing-json-labels.jsonl"));
  bench.docker.on({"container", "inspect"}, "", 125, "Error: inspecting object: no such container ps1");
  REQUIRE(bench.run({"--engine", "podman", "ps", "--json"}) == 0);
  json listed = json::parse(bench.out.str());
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["engine"] == "podman");
  CHECK(listed[0]["state"] == "running");
  CHECK(listed[0]["image"] == "pytorch-cpu:1.13.0a0-debian12");

  REQUIRE(bench.run({"--engine", "podman", "render", "--json", "--profile", "shell", "--name", testing::env, "--image",
                     testing::image, "--gpus", "none"}) == 0);
  json rendered = json::parse(bench.out.str());
  CHECK(rendered["engine"] == "podman");
  CHECK(rendered["argv"][0] == "podman");
  CliBench plain; // a run's choice is its own: the engine is chosen once per run
  REQUIRE(plain.run({"render", "--json", "--profile", "shell", "--name", testing::env, "--image", testing::image,
                     "--gpus", "none"}) == 0);
  CHECK(json::parse(plain.out.str())["engine"] == "docker");
}

TEST_CASE("doctor reads Podman's version without a Server and its own info shape", "[engine][podman][doctor]") {
  facts::Fact version{true, 0, read_file(podman_fixtures + "podman-version.json"), ""};
  facts::Fact info{true, 0, read_file(podman_fixtures + "podman-info.json"), ""};
  const std::vector<std::pair<const facts::Fact*, const facts::Fact*>> answers{
      {&version, &info}, {&version, nullptr}, {nullptr, &info}};
  for (const auto& [from_version, from_info] : answers) {
    doctor::DockerFacts podman = doctor::parse_docker_facts(from_version, from_info);
    INFO(podman.error);
    CHECK(podman.reach == doctor::DockerFacts::Reach::reachable);
    CHECK(podman.product == doctor::DockerFacts::Product::podman);
    CHECK(podman.server_version == "4.3.1");
    CHECK(podman.client_version == "4.3.1");
    CHECK(doctor::docker_check(podman).message == "Podman 4.3.1 answers (client 4.3.1)");
    // Its rootless ports go through its own forwarder: Docker's bridge warning does not apply.
    CHECK_FALSE(doctor::loopback_publish_check(podman));
  }
  doctor::DockerFacts podman = doctor::parse_docker_facts(nullptr, &info);
  CHECK(podman.cgroup_version == "1");
  CHECK(podman.storage_driver == "overlay");
  CHECK(podman.runtimes == std::vector<std::string>{"runc"});
  CHECK(podman.root_dir == "/home/launcher-podman/.local/share/containers/storage");
}

TEST_CASE("under Podman an env's GPUs are CDI devices, unless LAUNCHER_GPU_RUNTIME says otherwise",
          "[engine][podman][gpus][render]") {
  CliBench bench;
  facts::DirectoryFactSource host{{launcher::testing::fixture("gpu/8x-h100-two-socket")}};
  bench.context.facts = &host;
  bench.context.gpu_table = bench.dir.path / "gpus.json";
  bench.docker.on({"ps", "-a", "--no-trunc"}, "");
  const Argv request{"--engine", "podman",     "render",  "--json",       "--profile", "shell",
                     "--name",   testing::env, "--image", testing::image, "--gpus",    "device=1"};
  auto rendered_argv = [&] {
    INFO(bench.err.str());
    REQUIRE(bench.run(request) == 0);
    json rendered = json::parse(bench.out.str());
    return std::make_pair(rendered["argv"].get<Argv>(), rendered);
  };
  auto [argv, rendered] = rendered_argv();
  const Argv cdi_device{"--device", "nvidia.com/gpu=1"};
  CHECK(std::search(argv.begin(), argv.end(), cdi_device.begin(), cdi_device.end()) != argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "--gpus") == argv.end());
  CHECK(rendered["plan"]["gpu_runtime"] == "cdi");
  CHECK(contains(rendered["origins"]["/gpu_runtime"].get<std::string>(), "the engine podman"));

  // The host's setting stands: Podman 5 also takes --gpus.
  setenv("LAUNCHER_GPU_RUNTIME", "nvidia", 1);
  auto [nvidia_argv, nvidia_rendered] = rendered_argv();
  unsetenv("LAUNCHER_GPU_RUNTIME");
  CHECK(std::find(nvidia_argv.begin(), nvidia_argv.end(), "--gpus") != nvidia_argv.end());
  CHECK(std::find(nvidia_argv.begin(), nvidia_argv.end(), "--device") == nvidia_argv.end());
  CHECK_FALSE(nvidia_rendered["plan"].contains("gpu_runtime"));
}

TEST_CASE("rootless Podman on cgroup v1 enforces no resource limit: doctor and up's checks name the env's",
          "[engine][podman][doctor]") {
  facts::Fact info{true, 0, read_file(podman_fixtures + "podman-info.json"), ""};
  doctor::DockerFacts podman = doctor::parse_docker_facts(nullptr, &info);
  CHECK(podman.rootless);
  plan::Plan plan = builtin_plan("shell", 0);
  plan.memory_bytes = 8ULL << 30;
  plan.cpus = 2.5;
  plan.pids_limit = 4096;
  plan.cpu_shares = 512;
  plan.cpuset_cpus = "0-3";
  doctor::Subject subject = doctor::subject_of(plan);
  CHECK(subject.limits ==
        Argv{"--memory 8g", "--cpus 2.5", "--pids-limit 4096", "--cpu-shares 512", "--cpuset-cpus 0-3"});
  auto limits = doctor::limits_check(subject, podman);
  REQUIRE(limits);
  CHECK(*limits ==
        doctor::CheckResult{"limits", doctor::Status::warn,
                            "rootless Podman on cgroup v1 does not enforce resource limits: --memory 8g, "
                            "--cpus 2.5, --pids-limit 4096, --cpu-shares 512, --cpuset-cpus 0-3 will not hold",
                            "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel "
                            "command line), or run the env with --engine docker"});
  doctor::HostSnapshot snapshot;
  snapshot.docker = podman;
  auto preflight = doctor::preflight_checks(plan, snapshot, matrix::embedded_matrix());
  CHECK(std::find(preflight.begin(), preflight.end(), *limits) != preflight.end());

  // Where the limits hold, or nothing is limited, no check: cgroup v2, rootful Podman, Docker.
  doctor::DockerFacts v2 = podman, rootful = podman, docker = podman;
  v2.cgroup_version = "2";
  rootful.rootless = false;
  docker.product = doctor::DockerFacts::Product::docker_engine;
  for (const auto& facts : {v2, rootful, docker})
    CHECK_FALSE(doctor::limits_check(subject, facts));
  CHECK_FALSE(doctor::limits_check(doctor::Subject{}, podman));

  // A container's limits, as its inspect gives them (the default CPU weight is none).
  json inspect = {{"Config", {{"Image", "img"}}},
                  {"HostConfig",
                   {{"Memory", 1073741824},
                    {"NanoCpus", 1500000000},
                    {"PidsLimit", 100},
                    {"CpuShares", 1024},
                    {"CpusetMems", "1"}}}};
  CHECK(doctor::subject_of_container("c", inspect).limits ==
        Argv{"--memory 1g", "--cpus 1.5", "--pids-limit 100", "--cpuset-mems 1"});
}

TEST_CASE(
    "up under rootless Podman on cgroup v1 says which limits will not hold, and under Docker it asks nothing more",
    "[engine][podman][commands][up]") {
  CliBench bench;
  bench.facts.answers["docker-info.json"] = {true, 0, read_file(podman_fixtures + "podman-info.json"), ""};
  answer_a_new_env(bench);
  REQUIRE(bench.run({"--engine", "podman", "up", "--profile", "shell", "--name", testing::env, "--image",
                     testing::image, "--gpus", "none"}) == 0);
  CHECK(contains(bench.err.str(), "launcher: warning: limits: rootless Podman on cgroup v1 does not enforce resource "
                                  "limits: --memory "));
  CHECK(contains(bench.err.str(), "--pids-limit "));

  CliBench docker;
  docker.facts.answers["docker-info.json"] = {true, 0, read_file(podman_fixtures + "podman-info.json"), ""};
  answer_a_new_env(docker);
  REQUIRE(docker.up() == 0);
  CHECK_FALSE(contains(docker.err.str(), "limits"));
}

TEST_CASE("Podman lists a container's changes from its upper directory, where podman diff would list every file",
          "[engine][podman]") {
  FakeDocker fake;
  fake.on({"container", "inspect", "e"}, R"([{"GraphDriver": {"Name": "overlay", "Data": {
      "UpperDir": "/s/overlay/c/diff", "LowerDir": "/s/overlay/l2/diff:/s/overlay/l1/diff"}}}])");
  fake.on({"unshare", "bash", "-c"}, "C /etc\nA /root/new.txt\n");
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  CHECK(podman.changed_files("e") == "C /etc\nA /root/new.txt\n");
  REQUIRE(fake.calls().size() == 2);
  const Argv& listing = fake.calls()[1];
  REQUIRE(listing.size() == 8);
  CHECK(Argv(listing.begin(), listing.begin() + 3) == Argv{"unshare", "bash", "-c"});
  CHECK(Argv(listing.begin() + 4, listing.end()) ==
        Argv{"bash", "/s/overlay/c/diff", "/s/overlay/l2/diff", "/s/overlay/l1/diff"});
}

TEST_CASE("Podman commits a rootless container on cgroup v1 unpaused, as it cannot pause it, and says so",
          "[engine][podman][snapshot]") {
  FakeDocker fake;
  fake.on({"commit", "--pause=true"}, "", 125, read_file(podman_fixtures + "commit-pause-rootless-cgroupv1.stderr"));
  fake.on({}, "");
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  CHECK_FALSE(podman.commit("e", {}, "snap:1", "snapshot e"));
  CHECK(fake.calls() == std::vector<Argv>{{"commit", "--pause=true", "--format", "oci", "e", "snap:1"},
                                          {"commit", "--pause=false", "--format", "oci", "e", "snap:1"}});

  // Any other failure stays one.
  FakeDocker broken;
  broken.on({"commit"}, "", 125, "Error: no such container e");
  engine::PodmanEngine failing(docker::Docker("podman", broken.runner()));
  CHECK_THROWS_WITH(failing.commit("e", {}, "snap:1", "snapshot e"), Catch::Contains("no such container e"));
  CHECK(broken.calls().size() == 1);
}

TEST_CASE("rootless Podman's store through fuse-overlayfs: doctor warns that a snapshot holds the whole image",
          "[engine][podman][doctor]") {
  facts::Fact info{true, 0, read_file(podman_fixtures + "podman-info.json"), ""};
  doctor::DockerFacts podman = doctor::parse_docker_facts(nullptr, &info);
  CHECK(podman.overlay_mount_program == "/usr/bin/fuse-overlayfs");
  auto storage = doctor::podman_storage_check(podman);
  REQUIRE(storage);
  CHECK(*storage ==
        doctor::CheckResult{"storage", doctor::Status::warn,
                            "rootless Podman mounts its store's overlay through /usr/bin/fuse-overlayfs: under "
                            "--userns keep-id a snapshot holds every file of the image again, not only what the env "
                            "changed",
                            "on Linux 5.13 or later use the kernel's overlay: remove mount_program from "
                            "~/.config/containers/storage.conf, then `podman system reset` (it deletes your Podman "
                            "images and containers) and load the images again"});
  doctor::HostSnapshot snapshot;
  snapshot.docker = podman;
  auto checks = doctor::doctor_checks(doctor::Subject{}, snapshot, matrix::embedded_matrix());
  CHECK(std::find(checks.begin(), checks.end(), *storage) != checks.end());

  // The kernel's overlay, rootful Podman (whose store maps no owner) and Docker: no check.
  doctor::DockerFacts native = podman, rootful = podman, docker = podman;
  native.overlay_mount_program.clear();
  rootful.rootless = false;
  docker.product = doctor::DockerFacts::Product::docker_engine;
  for (const auto& facts : {native, rootful, docker})
    CHECK_FALSE(doctor::podman_storage_check(facts));
}

namespace {

// Memory answers that also keep the path of each file asked.
struct PathKeepingFacts : facts::MemoryFactSource {
  std::map<std::string, std::filesystem::path> paths;
  facts::Fact file(const std::string& name, const std::filesystem::path& path) override {
    paths[name] = path;
    return MemoryFactSource::file(name, path);
  }
};

} // namespace

TEST_CASE("a store whose storage chose fuse-overlayfs itself: doctor reads the store's flag and warns",
          "[engine][podman][doctor]") {
  // `podman info` of a store on the kernel's overlay names no mount program, whatever the flag says.
  const std::string flag = "podman-overlay-has-mount-program.txt";
  auto storage_facts = [&](std::optional<std::string> says) {
    PathKeepingFacts source;
    source.answers["docker-version.json"] = {true, 0, read_file(podman_fixtures + "podman-version.json"), ""};
    source.answers["docker-info.json"] = {true, 0, read_file(podman_fixtures + "podman-info-native-overlay.json"), ""};
    if (says) source.answers[flag] = {true, 0, *says, ""};
    facts::HostQueries queries(source, testing::replay_engine());
    doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, doctor::Subject{}, matrix::embedded_matrix());
    CHECK(source.paths.at(flag) == "/home/launcher-podman/.local/share/containers/storage/overlay/.has-mount-program");
    REQUIRE(snapshot.docker);
    CHECK(snapshot.docker->overlay_mount_program.empty());
    return *snapshot.docker;
  };

  doctor::DockerFacts chosen = storage_facts("true");
  CHECK(chosen.overlay_mount_program_by_storage);
  CHECK(doctor::podman_storage_check(chosen) ==
        doctor::CheckResult{
            "storage", doctor::Status::warn,
            "rootless Podman's storage chose fuse-overlayfs for its overlay itself "
            "(/home/launcher-podman/.local/share/containers/storage/overlay/.has-mount-program says true) and keeps "
            "it: under --userns keep-id a snapshot holds every file of the image again, not only what the env changed",
            "only a new store goes back to the kernel's overlay: `podman system reset` (it deletes your Podman images "
            "and containers) and load the images again"});
  CHECK(storage_facts("true\n").overlay_mount_program_by_storage);
  // The kernel's overlay ("false"), a flag not there or unreadable: no warning.
  for (const auto& says : {std::optional<std::string>("false"), std::optional<std::string>()}) {
    doctor::DockerFacts native = storage_facts(says);
    CHECK_FALSE(native.overlay_mount_program_by_storage);
    CHECK_FALSE(doctor::podman_storage_check(native));
  }
}
