#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/docker_engine.hpp"
#include "engine/podman_engine.hpp"
#include "export/export.hpp"
#include "export/yaml.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/environments.hpp"
#include "render/render.hpp"
#include "support.hpp"

using namespace launcher;
using nlohmann::json;
using testing::builtin_plan;
using testing::check_golden;
using testing::require_error;
using Options = std::vector<std::vector<std::string>>;

namespace {

// A plan with every piece render knows, as in test_render's fixed-order case.
plan::Plan full_plan() {
  plan::Plan plan = builtin_plan("shell", 0);
  plan.service = plan::Service::command;
  plan.command = {"python", "-c", "print('hi')"};
  plan.gpus = {plan::GpuAssignment::Kind::devices, {"0", "1"}};
  plan.ports = {{"::1", 2200, 22, plan::Protocol::tcp}, {"127.0.0.1", std::nullopt, 6006, plan::Protocol::udp}};
  plan.mounts = {{"/data/a,b \"x\"", "/data", true}, {"/home/alice/ckpt", "/ckpt", false}};
  plan.create_directories = {"/home/alice/ckpt"};
  plan.environment = {{"B", "2=two"}, {"A", "1"}};
  plan.ipc = plan::Ipc::host;
  plan.cpus = 2.5;
  plan.memory_bytes = 16ULL << 30;
  plan.cpu_shares = 512;
  plan.cpuset_cpus = "0-15";
  plan.pids_limit = 4096;
  plan.restart = {plan::Restart::Policy::unless_stopped, std::nullopt};
  plan.labels = {{"team", "vision"}};
  plan.user.sudo = true;
  plan.access.secrets_dir = "/home/alice/.local/state/launcher/envs/project-shell/secrets";
  return plan;
}

// What `export` hands the exporter on a Docker host: the engine's network options and commands.
exporting::Engine on_docker(const plan::Plan& plan, exporting::Engine target = {}) {
  return lifecycle::export_target(engine::DockerEngine(docker::Docker("docker")), plan, target);
}

json compose_service(const plan::Plan& plan) {
  json document = exporting::compose_document(plan, on_docker(plan)).content;
  return document["services"][plan::name(plan.service)];
}

// A devcontainer.json read back into `docker run` options: runArgs split at each "--"
// option (a value never starts with "--"), then mounts, containerEnv and appPort.
Options reparsed(const json& devcontainer) {
  Options options;
  std::vector<std::string> run_args = devcontainer["runArgs"];
  for (std::size_t i = 0; i < run_args.size(); ++i) {
    bool has_value = i + 1 < run_args.size() && run_args[i + 1].rfind("--", 0) != 0;
    options.push_back(has_value ? std::vector<std::string>{run_args[i], run_args[i + 1]}
                                : std::vector<std::string>{run_args[i]});
    if (has_value) ++i;
  }
  for (const auto& mount : devcontainer["mounts"])
    options.push_back({"--mount", mount});
  for (const auto& [name, value] : devcontainer["containerEnv"].items())
    options.push_back({"--env", name + "=" + value.get<std::string>()});
  for (const auto& port : devcontainer["appPort"])
    options.push_back({"--publish", port});
  return options;
}

Options sorted(Options options) {
  std::sort(options.begin(), options.end());
  return options;
}

// The top-level properties of devcontainer.json's schema (containers.dev, image-based config and
// the general ones); a key outside it is one the CLI and VS Code would ignore or reject.
const std::vector<std::string> devcontainer_keys{"name",
                                                 "image",
                                                 "build",
                                                 "dockerFile",
                                                 "context",
                                                 "runArgs",
                                                 "appPort",
                                                 "forwardPorts",
                                                 "portsAttributes",
                                                 "otherPortsAttributes",
                                                 "containerEnv",
                                                 "remoteEnv",
                                                 "containerUser",
                                                 "remoteUser",
                                                 "updateRemoteUserUID",
                                                 "userEnvProbe",
                                                 "mounts",
                                                 "workspaceMount",
                                                 "workspaceFolder",
                                                 "overrideCommand",
                                                 "shutdownAction",
                                                 "init",
                                                 "privileged",
                                                 "capAdd",
                                                 "securityOpt",
                                                 "features",
                                                 "overrideFeatureInstallOrder",
                                                 "customizations",
                                                 "hostRequirements",
                                                 "initializeCommand",
                                                 "onCreateCommand",
                                                 "updateContentCommand",
                                                 "postCreateCommand",
                                                 "postStartCommand",
                                                 "postAttachCommand",
                                                 "waitFor"};

} // namespace

TEST_CASE("golden: devcontainer.json of each built-in profile", "[export][golden]") {
  check_golden("devcontainer-jupyter-gpu-host.json",
               exporting::export_plan(builtin_plan("jupyter", 8), exporting::Format::devcontainer, false,
                                      on_docker(builtin_plan("jupyter", 8)))
                   .text);
  check_golden("devcontainer-ssh-cpu-host.json",
               exporting::export_plan(builtin_plan("ssh", 0), exporting::Format::devcontainer, false,
                                      on_docker(builtin_plan("ssh", 0)))
                   .text);
  check_golden("devcontainer-shell-cpu-host.json",
               exporting::export_plan(builtin_plan("shell", 0), exporting::Format::devcontainer, false,
                                      on_docker(builtin_plan("shell", 0)))
                   .text);
}

TEST_CASE("golden: the compose file of each built-in profile", "[export][golden]") {
  check_golden("compose-jupyter-gpu-host.yaml",
               exporting::export_plan(builtin_plan("jupyter", 8), exporting::Format::compose, false,
                                      on_docker(builtin_plan("jupyter", 8)))
                   .text);
  check_golden("compose-ssh-cpu-host.yaml", exporting::export_plan(builtin_plan("ssh", 0), exporting::Format::compose,
                                                                   false, on_docker(builtin_plan("ssh", 0)))
                                                .text);
  check_golden("compose-shell-cpu-host.yaml",
               exporting::export_plan(builtin_plan("shell", 0), exporting::Format::compose, false,
                                      on_docker(builtin_plan("shell", 0)))
                   .text);
}

TEST_CASE("golden: the compose file for an engine with health check start intervals", "[export][golden][health]") {
  check_golden("compose-jupyter-cpu-host-engine-25.yaml",
               exporting::export_plan(builtin_plan("jupyter", 0), exporting::Format::compose, false,
                                      on_docker(builtin_plan("jupyter", 0), exporting::engine_of("28.5.2+dfsg4")))
                   .text);
}

TEST_CASE("compose: a start interval from Docker Engine 25 on, with the start period it applies in",
          "[export][health]") {
  CHECK(exporting::engine_of("25.0.0").health_start_interval);
  CHECK(exporting::engine_of("28.5.2+dfsg4").health_start_interval);
  CHECK_FALSE(exporting::engine_of("24.0.9").health_start_interval);
  CHECK_FALSE(exporting::engine_of("20.10.24+dfsg1").health_start_interval);
  CHECK_FALSE(exporting::engine_of("").health_start_interval); // the engine did not answer
  plan::Plan plan = builtin_plan("ssh", 0);
  json service =
      exporting::compose_document(plan, exporting::engine_of("25.0.0")).content["services"][plan::name(plan.service)];
  CHECK(service["healthcheck"] == json::parse(R"({"start_period": "60s", "start_interval": "500ms"})"));
  CHECK_FALSE(compose_service(plan).contains("healthcheck"));
  // The devcontainer CLI runs `docker run`, whose health flags it has no key for: the same file.
  CHECK(exporting::export_plan(plan, exporting::Format::devcontainer, false, exporting::engine_of("28.0.0")).text ==
        exporting::export_plan(plan, exporting::Format::devcontainer, false).text);
}

TEST_CASE("devcontainer: runArgs, mounts, containerEnv and appPort re-parsed are the rendered options one for one",
          "[export]") {
  plan::Plan full = full_plan();
  full.command.clear();
  for (const plan::Plan& plan : {builtin_plan("jupyter", 8), builtin_plan("ssh", 0), builtin_plan("shell", 0), full}) {
    json devcontainer = exporting::devcontainer_document(plan).content;
    auto rendered = render::render_container_command(plan, ".env");
    // The profile's env is named, its values taken from the devcontainer CLI's environment.
    Options expected;
    for (const auto& option : rendered.options)
      if (option[0] != "--env-file") expected.push_back(option);
    for (const auto& [name, value] : rendered.environment)
      expected.push_back({"--env", name + "=${localEnv:" + name + "}"});
    CHECK(sorted(reparsed(devcontainer)) == sorted(expected));
    // runArgs keep render's order: the same argv, less what has a key of its own.
    Options in_run_args;
    for (const auto& option : rendered.options)
      if (option[0] != "--env" && option[0] != "--env-file" && option[0] != "--mount" && option[0] != "--publish")
        in_run_args.push_back(option);
    Options run_args_alone = reparsed({{"runArgs", devcontainer["runArgs"]},
                                       {"mounts", json::array()},
                                       {"containerEnv", json::object()},
                                       {"appPort", json::array()}});
    CHECK(run_args_alone == in_run_args);
    CHECK(devcontainer["image"] == plan.image);
  }
}

TEST_CASE("devcontainer: only keys of the spec, with the types it gives them", "[export]") {
  for (const plan::Plan& plan : {builtin_plan("jupyter", 8), builtin_plan("ssh", 0)}) {
    json devcontainer = exporting::devcontainer_document(plan).content;
    for (const auto& [key, value] : devcontainer.items()) {
      INFO(key);
      CHECK(std::find(devcontainer_keys.begin(), devcontainer_keys.end(), key) != devcontainer_keys.end());
    }
    for (const char* list : {"runArgs", "mounts", "appPort"})
      for (const auto& item : devcontainer[list])
        CHECK(item.is_string());
    for (const auto& [name, value] : devcontainer["containerEnv"].items())
      CHECK(value.is_string());
    CHECK(devcontainer["overrideCommand"] == false);
    CHECK(devcontainer["updateRemoteUserUID"] == false);
    CHECK(devcontainer["remoteUser"] == "alice");
  }
  CHECK(exporting::devcontainer_document(builtin_plan("jupyter", 8)).content["hostRequirements"] ==
        json{{"gpu", true}});
  CHECK(!exporting::devcontainer_document(builtin_plan("jupyter", 0)).content.contains("hostRequirements"));
  // The built-in "auto" host port: Docker picks a free one when the devcontainer CLI runs it.
  CHECK(exporting::devcontainer_document(builtin_plan("jupyter", 0)).content["appPort"] == json{"127.0.0.1::8888/tcp"});
}

TEST_CASE("devcontainer: a command service's program cannot be expressed, --lossy leaves it out", "[export]") {
  require_error([] { exporting::export_plan(full_plan(), exporting::Format::devcontainer, false); }, ExitCode::usage,
                "devcontainer cannot express the plan's \"command\"; --lossy exports without it");
  auto lossy = exporting::export_plan(full_plan(), exporting::Format::devcontainer, true);
  CHECK(lossy.dropped == std::vector<std::string>{"/command"});
  CHECK(lossy.text.find("print('hi')") == std::string::npos);
  CHECK(exporting::export_plan(full_plan(), exporting::Format::compose, false).dropped.empty());
}

TEST_CASE("compose: GPUs as a device reservation, by id or all, none without one", "[export]") {
  plan::Plan plan = full_plan();
  json devices = compose_service(plan)["deploy"]["resources"]["reservations"]["devices"];
  CHECK(devices == json::parse(R"([{"driver": "nvidia", "device_ids": ["0", "1"], "capabilities": ["gpu"]}])"));
  plan.gpus = {plan::GpuAssignment::Kind::all, {}};
  devices = compose_service(plan)["deploy"]["resources"]["reservations"]["devices"];
  CHECK(devices == json::parse(R"([{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}])"));
  plan.gpus = {plan::GpuAssignment::Kind::none, {}};
  CHECK(!compose_service(plan).contains("deploy"));
  CHECK(compose_service(plan)["environment"]["NVIDIA_VISIBLE_DEVICES"] == "void");
}

TEST_CASE("compose: ports and bind volumes in the long form, the secrets read-only at the runtime's path", "[export]") {
  json service = compose_service(full_plan());
  CHECK(service["ports"] == json::parse(R"([
    {"target": 22, "published": "2200", "host_ip": "::1", "protocol": "tcp", "mode": "host"},
    {"target": 6006, "host_ip": "127.0.0.1", "protocol": "udp", "mode": "host"}])"));
  CHECK(service["volumes"] == json::parse(R"([
    {"type": "bind", "source": "/data/a,b \"x\"", "target": "/data", "read_only": true},
    {"type": "bind", "source": "/home/alice/ckpt", "target": "/ckpt", "read_only": false, "bind": {"create_host_path": true}},
    {"type": "bind", "source": "/home/alice/.local/state/launcher/envs/project-shell/secrets",
     "target": "/run/launcher/root-only/secrets", "read_only": true}])"));
  CHECK(service["environment"]["LAUNCHER_SECRETS_DIR"] == contract::mount::secrets_dir);
}

TEST_CASE("compose: every other option of the rendered docker run has its key", "[export]") {
  plan::Plan plan = full_plan();
  json document = exporting::compose_document(plan, on_docker(plan)).content;
  json service = document["services"]["command"];
  CHECK(document["name"] == "project-shell");
  CHECK(document["networks"] == json{{"launcher-project-shell",
                                      {{"name", "launcher-project-shell"},
                                       {"driver", "bridge"},
                                       {"driver_opts", {{"com.docker.network.bridge.enable_icc", "false"}}},
                                       {"labels", {{"io.launcher.env", "project-shell"}}}}}});
  CHECK(service["networks"] == json{{"launcher-project-shell", json::object()}});
  CHECK(service["container_name"] == "project-shell");
  CHECK(service["image"] == plan.image);
  CHECK(service["pull_policy"] == "never");
  CHECK(service["command"] == json{"python", "-c", "print('hi')"});
  CHECK(service["labels"]["io.launcher.env"] == "project-shell");
  CHECK(service["labels"]["io.launcher.plan-hash"] == plan::plan_hash(plan));
  CHECK(service["labels"]["io.launcher.gpus"] == "0,1");
  CHECK(service["labels"]["team"] == "vision");
  CHECK(service["environment"]["B"] == nullptr); // by name: Compose takes the value from the shell or .env
  CHECK(service["environment"]["LAUNCHER_SUDO"] == "1");
  CHECK(service["cap_drop"] == json{"ALL"});
  CHECK(service["cap_add"] == json{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID", "AUDIT_WRITE"});
  CHECK(!service.contains("security_opt")); // sudo lifts no-new-privileges, as in docker run
  CHECK(service["tmpfs"] == json{"/run/launcher:rw,nosuid,nodev,noexec,mode=0755"});
  CHECK(service["shm_size"] == "28g");
  CHECK(service["ipc"] == "host");
  CHECK(service["cpus"] == "2.5");
  CHECK(service["mem_limit"] == "16g");
  CHECK(service["memswap_limit"] == "16g");
  CHECK(service["cpu_shares"] == "512");
  CHECK(service["cpuset"] == "0-15");
  CHECK(service["pids_limit"] == "4096");
  CHECK(service["restart"] == "unless-stopped");
  CHECK(service["ulimits"] ==
        json::parse(R"({"memlock": {"soft": -1, "hard": -1}, "stack": {"soft": 67108864, "hard": 67108864}})"));
  // launcher-init starts as root and drops to the user: no `user` key, as `up` passes no --user.
  CHECK(!service.contains("user"));
  json shell = compose_service(builtin_plan("shell", 0));
  CHECK(shell["stdin_open"] == true);
  CHECK(shell["tty"] == true);
  CHECK(shell["security_opt"] == json{"no-new-privileges"});
  CHECK(!shell.contains("privileged"));
}

TEST_CASE("an export needs no network made beforehand: its own is declared, a shared one is external", "[export]") {
  // Compose makes the env's own network (traffic between containers off) whenever it is missing,
  // as after `launcher down`; the devcontainer CLI runs the same before each start.
  plan::Plan plan = builtin_plan("shell", 0);
  json compose = exporting::compose_document(plan, on_docker(plan)).content;
  CHECK(compose["networks"]["launcher-project-shell"]["name"] == "launcher-project-shell");
  CHECK_FALSE(compose["networks"]["launcher-project-shell"].contains("external"));
  CHECK(exporting::devcontainer_document(plan, on_docker(plan)).content["initializeCommand"] ==
        json{"sh", "-c",
             "docker network inspect --format '{{.Name}}' launcher-project-shell >/dev/null 2>&1 || docker network "
             "create --driver bridge --opt com.docker.network.bridge.enable_icc=false --label "
             "io.launcher.env=project-shell launcher-project-shell >/dev/null"});
  // A shared network: no `down` removes it, and the profiles make it.
  plan.network = "team-net";
  CHECK(exporting::compose_document(plan, on_docker(plan)).content["networks"] ==
        json{{"team-net", {{"external", true}}}});
  CHECK_FALSE(exporting::devcontainer_document(plan, on_docker(plan)).content.contains("initializeCommand"));
}

TEST_CASE("an export for Podman makes the env's network with Podman's CLI and its isolate option", "[export]") {
  plan::Plan plan = builtin_plan("shell", 0);
  exporting::Engine podman = lifecycle::export_target(engine::PodmanEngine(docker::Docker("podman")), plan);
  CHECK(exporting::compose_document(plan, podman).content["networks"]["launcher-project-shell"]["driver_opts"] ==
        json{{"isolate", "true"}});
  CHECK(exporting::devcontainer_document(plan, podman).content["initializeCommand"] ==
        json{"sh", "-c",
             "podman network inspect --format '{{.Name}}' launcher-project-shell >/dev/null 2>&1 || podman network "
             "create --driver bridge --opt isolate=true --label io.launcher.env=project-shell "
             "launcher-project-shell >/dev/null"});
  // A file for an engine the launcher knows nothing of says nothing of its own network's making.
  CHECK_FALSE(exporting::devcontainer_document(plan).content.contains("initializeCommand"));
}

TEST_CASE("an export for Podman carries Podman's container: keep-id as root, no host-gateway, the port sysctl",
          "[export]") {
  plan::Plan plan = builtin_plan("ssh", 0);
  exporting::Engine podman = lifecycle::export_target(engine::PodmanEngine(docker::Docker("podman")), plan);
  exporting::Document compose = exporting::compose_document(plan, podman);
  json service = compose.content["services"]["ssh"];
  CHECK(service["userns_mode"] == "keep-id");
  CHECK(service["user"] == "0:0");
  CHECK(service["sysctls"] == json{"net.ipv4.ip_unprivileged_port_start=0"});
  CHECK_FALSE(service.contains("extra_hosts")); // Podman 4.3 refuses host-gateway
  // Compose has no key for --passwd=false: the file is refused unless --lossy, which names it.
  CHECK(compose.dropped == std::vector<std::string>{"--passwd=false"});
  require_error([&] { exporting::export_plan(plan, exporting::Format::compose, false, podman); }, ExitCode::usage,
                "compose cannot express the engine's --passwd=false; --lossy exports without it");
  CHECK(exporting::lossy_warnings(compose.dropped, "the export") ==
        "launcher: warning: left out of the export: the engine's --passwd=false (--lossy)\n");
  // The devcontainer CLI passes runArgs to Podman as they are.
  auto args = exporting::devcontainer_document(plan, podman).content["runArgs"].get<std::vector<std::string>>();
  for (const char* word : {"keep-id", "0:0", "--passwd=false", "net.ipv4.ip_unprivileged_port_start=0"})
    CHECK(std::find(args.begin(), args.end(), word) != args.end());
  CHECK(std::find(args.begin(), args.end(), "--add-host") == args.end());
  CHECK(exporting::devcontainer_document(plan, podman).dropped.empty());
  // Docker's export is render's container: no Podman option.
  CHECK_FALSE(exporting::compose_document(plan, on_docker(plan)).content["services"]["ssh"].contains("userns_mode"));
}

TEST_CASE("a target that cannot express plan fields and engine options names both", "[export]") {
  require_error(
      [] {
        exporting::refuse_unless_lossy("compose", {"/resources/cpuset_mems", "/gpu_runtime", "--x"}, false, "exports");
      },
      ExitCode::usage,
      "compose cannot express the plan's \"resources/cpuset_mems\", \"gpu_runtime\" and the engine's --x; "
      "--lossy exports without them");
}

TEST_CASE("compose cannot express NUMA nodes: --lossy leaves them out, the devcontainer keeps them", "[export]") {
  plan::Plan plan = builtin_plan("ssh", 0);
  plan.cpuset_mems = "1";
  require_error([&] { exporting::export_plan(plan, exporting::Format::compose, false); }, ExitCode::usage,
                "compose cannot express the plan's \"resources/cpuset_mems\"; --lossy exports without it");
  CHECK(exporting::export_plan(plan, exporting::Format::compose, true).dropped ==
        std::vector<std::string>{"/resources/cpuset_mems"});
  json devcontainer = json::parse(exporting::export_plan(plan, exporting::Format::devcontainer, false).text);
  auto args = devcontainer["runArgs"].get<std::vector<std::string>>();
  CHECK(std::find(args.begin(), args.end(), "--cpuset-mems") != args.end());
}

TEST_CASE("a plan field no target knows is named, unless it asks for nothing", "[export]") {
  std::vector<std::string> expressed{"/env", "/resources/cpus", "/labels"};
  json plan_json = {{"env", "x"},
                    {"read_only", true},
                    {"cpu_shares", 0},
                    {"cpuset", ""},
                    {"resources", {{"cpus", 2}, {"cpuset_cpus", "0-3"}, {"memory_swap", nullptr}}},
                    {"labels", {{"any", "thing"}}},
                    {"devices", json::array()}};
  CHECK(exporting::unexpressed_fields(plan_json, expressed) ==
        std::vector<std::string>{"/cpu_shares", "/read_only", "/resources/cpuset_cpus"});
  // An object looked into by member: each member that asks for something is named.
  json access = {{"access", {{"agent", false}, {"secrets_dir", "/s"}}}};
  CHECK(exporting::unexpressed_fields(access, expressed) == std::vector<std::string>{"/access"});
  CHECK(exporting::unexpressed_fields(access, expressed, {"/access"}) ==
        std::vector<std::string>{"/access/secrets_dir"});
  // Today's plan: both targets express every field (the devcontainer all but a command).
  CHECK(exporting::compose_document(full_plan()).dropped.empty());
  CHECK(exporting::devcontainer_document(full_plan()).dropped == std::vector<std::string>{"/command"});
}

TEST_CASE("an unknown format is named", "[export]") {
  require_error([] { exporting::parse_format("kubernetes"); }, ExitCode::usage,
                "command line (--format kubernetes): unknown format \"kubernetes\"; expected compose or devcontainer");
  CHECK(exporting::parse_format("compose") == exporting::Format::compose);
  CHECK(exporting::parse_format("devcontainer") == exporting::Format::devcontainer);
}

TEST_CASE("exporting twice gives the same bytes: 2-space indent and a final newline", "[export]") {
  for (auto format : {exporting::Format::compose, exporting::Format::devcontainer}) {
    plan::Plan plan = builtin_plan("jupyter", 8);
    std::string text = exporting::export_plan(plan, format, false).text;
    CHECK(text == exporting::export_plan(builtin_plan("jupyter", 8), format, false).text);
    CHECK(text.back() == '\n');
    CHECK(text.find("\n  ") != std::string::npos);
    CHECK(text.find("\t") == std::string::npos);
  }
}

TEST_CASE("yaml: block style, sorted keys, indented sequences", "[export][yaml]") {
  json value = json::parse(R"({"services": {"a": {"ports": [{"target": 1, "mode": "host"}], "tty": true,
                              "nested": [[1, 2], []], "empty": {}, "cpus": 2.5, "none": null}}, "name": "x"})");
  CHECK(exporting::to_yaml(value) == "name: x\n"
                                     "services:\n"
                                     "  a:\n"
                                     "    cpus: 2.5\n"
                                     "    empty: {}\n"
                                     "    nested:\n"
                                     "      - - 1\n"
                                     "        - 2\n"
                                     "      - []\n"
                                     "    none: null\n"
                                     "    ports:\n"
                                     "      - mode: host\n"
                                     "        target: 1\n"
                                     "    tty: true\n");
}

TEST_CASE("yaml: a string is plain only when nothing else can be read from it", "[export][yaml]") {
  auto scalar = [](const std::string& text) { return exporting::to_yaml(json{{"k", text}}).substr(3); };
  CHECK(scalar("pytorch-cpu:1.13.0a0-debian12") == "pytorch-cpu:1.13.0a0-debian12\n");
  CHECK(scalar("/home/alice/a,b") == "/home/alice/a,b\n");
  CHECK(scalar("io.launcher.env") == "io.launcher.env\n");
  for (const char* typed : {"yes", "No", "ON", "off", "y", "true", "Null", "8888", "1e3", "0755", "127.0.0.1", ".inf",
                            "~", "", "2024-01-01", "-1", "0x1F"})
    CHECK(scalar(typed) == "\"" + std::string(typed) + "\"\n");
  for (const char* indicator :
       {"a: b", "abc:", "a #b", "*x", "&x", "!x", "[x]", "{x}", "a b", "'x'", "-x", "%x", "@x", "`x", "|x", ">x"})
    CHECK(scalar(indicator).front() == '"');
  CHECK(scalar("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"\n");
  CHECK(scalar("a\nb\tc\x01\x7f") == "\"a\\nb\\tc\\u0001\\u007F\"\n");
  CHECK(scalar("\xc2\x85 \xc3\xa9 \xef\xbf\xbe") == "\"\\u0085 \xc3\xa9 \\uFFFE\"\n");
  CHECK(exporting::to_yaml(json{{"y", 1}, {"_x", 2}, {"a b", 3}}) == "\"_x\": 2\n\"a b\": 3\n\"y\": 1\n");
}

TEST_CASE("yaml: bytes that are not UTF-8 are refused, naming the value", "[export][yaml]") {
  require_error(
      [] {
        exporting::to_yaml(json{{"k", "a\xff"}});
      },
      ExitCode::usage, "cannot export \"a\xff\": it is not valid UTF-8");
  require_error(
      [] {
        exporting::to_yaml(json{{"k", "\xc0\x80"}});
      },
      ExitCode::usage, "cannot export \"\xc0\x80\": it is not valid UTF-8");
}

TEST_CASE("export writes the profile's env by name, never a value", "[export][env]") {
  plan::Plan plan = full_plan();
  plan.command.clear();
  const std::string secret = "hf_s3cr3t-value-4711";
  plan.environment = {{"HF_TOKEN", secret}, {"A", "1"}};
  auto compose = exporting::export_plan(plan, exporting::Format::compose, false);
  auto devcontainer = exporting::export_plan(plan, exporting::Format::devcontainer, false);
  CHECK(compose.environment_names == std::vector<std::string>{"A", "HF_TOKEN"});
  CHECK(devcontainer.environment_names == std::vector<std::string>{"A", "HF_TOKEN"});
  for (const auto* text : {&compose.text, &devcontainer.text}) {
    CHECK(text->find(secret) == std::string::npos);
    CHECK(text->find("--env-file") == std::string::npos);
  }
  CHECK(compose.text.find("      HF_TOKEN: null\n") != std::string::npos);
  json container_env = json::parse(devcontainer.text)["containerEnv"];
  CHECK(container_env["HF_TOKEN"] == "${localEnv:HF_TOKEN}");
  CHECK(container_env["A"] == "${localEnv:A}");
  CHECK(container_env["LAUNCHER_SUDO"] == "1"); // the launcher's own settings keep their values
  CHECK(exporting::export_plan(builtin_plan("shell", 0), exporting::Format::compose, false).environment_names.empty());
}

TEST_CASE("the .env beside a compose file lists the names with empty values", "[export][env]") {
  CHECK(exporting::env_file_template({"A", "HF_TOKEN"}, "compose.yaml") ==
        "# The values of the environment's variables for compose.yaml: fill them in.\n"
        "# Compose reads this file; `launcher export` never writes a value, nor over this file.\n"
        "A=\n"
        "HF_TOKEN=\n");
}

TEST_CASE("an existing .env is read for the names it lacks", "[export][env]") {
  std::vector<std::string> names{"A", "HF_TOKEN", "WANDB_API_KEY", "B"};
  CHECK(exporting::names_missing_from("# A=commented\n  HF_TOKEN=x\nexport WANDB_API_KEY = y\nAB=1\n", names) ==
        std::vector<std::string>{"A", "B"});
  CHECK(exporting::names_missing_from("", names) == names);
  CHECK(exporting::names_missing_from("A=\nB: 2\nHF_TOKEN=\nWANDB_API_KEY=", names).empty());
}
