// `launcher export`: the Compose file run by the real `docker compose` (v2, Debian trixie's
// package) starts the same container `launcher up` does, and passes the same readiness checks.
#include <httplib.h>
#include <libssh/libssh.h>

#include <sstream>

#include "core/read_file.hpp"
#include "engine/docker_engine.hpp"
#include "export/export.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/readiness.hpp"
#include "secrets/state.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using launcher::read_file;
using launcher::process::run_process;
using nlohmann::json;

namespace {

void require_compose() {
  auto version = run_process({docker(), "compose", "version"});
  if (version.exit_code != 0) skip_or_fail("no `docker compose` plugin: tools/ensure-packages.sh test installs it");
}

json inspect_container(const std::string& name) {
  auto inspect = run_process({docker(), "inspect", name});
  INFO(inspect.err);
  REQUIRE(inspect.exit_code == 0);
  return json::parse(inspect.out)[0];
}

launcher::host::StateLayout state_of(const TempDir& dir, const std::string& env) {
  return launcher::host::state_layout(launcher::EnvName::parse(env), dir.path / ".state");
}

// `launcher export --format FORMAT ARGS -o FILE`, which must succeed.
void export_to(const TempDir& dir, const std::string& format, const fs::path& file, std::vector<std::string> args) {
  args.insert(args.begin(), {"export", "--format", format, "--image", lifecycle_image(), "-o", file.string()});
  auto exported = run_launcher(dir, args);
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
}

// A Compose project started from an exported file, taken down when the test ends; the network
// the export made (as `up` does) goes too.
struct ComposeProject {
  fs::path file;
  std::string env;
  ~ComposeProject() {
    run_process({docker(), "compose", "-f", file.string(), "down"});
    remove_container_and_network(env);
  }
  launcher::process::ProcessResult compose(std::vector<std::string> args) const {
    args.insert(args.begin(), {docker(), "compose", "-f", file.string()});
    return run_process(args);
  }
};

// What must agree between the container `up` makes and the one Compose makes from the export:
// GPUs, mounts, ports, shm, ulimits, capabilities, security options, labels (less Compose's own),
// and the rest of the hardening; names and ids left out. Lists whose order Docker does not keep
// are sorted, and empty ones are null on either side.
json comparable(const json& container) {
  const json& host = container["HostConfig"];
  auto list = [](const json& value) {
    json items = value.is_null() ? json::array() : value;
    std::sort(items.begin(), items.end());
    return items;
  };
  json mounts = json::array();
  for (const auto& mount : container["Mounts"])
    mounts.push_back({{"Type", mount["Type"]},
                      {"Source", mount["Source"]},
                      {"Destination", mount["Destination"]},
                      {"RW", mount["RW"]}});
  json labels = json::object();
  for (const auto& [key, value] : container["Config"]["Labels"].items())
    if (key.rfind("com.docker.compose.", 0) != 0) labels[key] = value;
  json device_requests = list(host["DeviceRequests"]);
  // `docker run --gpus` leaves the driver to the engine, which takes the one that offers the
  // [gpu] capability: NVIDIA's. Compose names it, and sends no options where the CLI sends {}.
  for (auto& request : device_requests) {
    if (request["Driver"] == "") request["Driver"] = "nvidia";
    if (request["Options"].is_null()) request["Options"] = json::object();
  }
  // The CLI sends capabilities as CAP_CHOWN, Compose as CHOWN: one name to the engine.
  json capabilities_added = json::array();
  for (const std::string capability : list(host["CapAdd"]))
    capabilities_added.push_back(capability.rfind("CAP_", 0) == 0 ? capability.substr(4) : capability);
  // Compose gives the network by id in NetworkMode; by name here, as the CLI does.
  json networks = json::array();
  for (const auto& [name, network] : container["NetworkSettings"]["Networks"].items())
    networks.push_back(name);
  return {{"DeviceRequests", device_requests},
          {"Mounts", list(mounts)},
          {"PortBindings", host["PortBindings"]},
          {"ShmSize", host["ShmSize"]},
          {"Ulimits", list(host["Ulimits"])},
          {"CapAdd", list(capabilities_added)},
          {"CapDrop", list(host["CapDrop"])},
          {"SecurityOpt", list(host["SecurityOpt"])},
          {"Tmpfs", host["Tmpfs"]},
          {"PidsLimit", host["PidsLimit"]},
          {"Privileged", host["Privileged"]},
          {"IpcMode", host["IpcMode"]},
          {"Memory", host["Memory"]},
          {"MemorySwap", host["MemorySwap"]},
          {"CpuShares", host["CpuShares"]},
          {"CpusetCpus", host["CpusetCpus"]},
          {"ReadonlyRootfs", host["ReadonlyRootfs"]},
          {"Networks", networks},
          {"Env", list(container["Config"]["Env"])},
          {"Image", container["Config"]["Image"]},
          {"Labels", labels}};
}

// With `auto_port`, the host port of an "auto" port and the plan hash are left out: `up` publishes
// the port it picked and remembers for the env (part of its plan), a Compose file leaves it to Docker.
void check_agree(const json& made_by_up, const json& made_by_compose, bool auto_port = false) {
  json up_fields = comparable(made_by_up), compose_fields = comparable(made_by_compose);
  if (auto_port)
    for (json* fields : {&up_fields, &compose_fields}) {
      (*fields)["Labels"].erase("io.launcher.plan-hash");
      for (auto& [port, bindings] : (*fields)["PortBindings"].items())
        for (auto& binding : bindings)
          binding["HostPort"] = "";
    }
  for (const auto& [field, value] : up_fields.items()) {
    INFO(field);
    CHECK(compose_fields[field] == value);
  }
}

// None of the environment's secret files' contents appears in `text`.
void check_no_secret_in(const TempDir& dir, const std::string& env, const std::string& text) {
  auto layout = state_of(dir, env);
  for (const auto& file :
       {layout.jupyter_token(), layout.host_key(), layout.user_password_hash(), layout.jupyter_password_hash()}) {
    auto secret = launcher::secrets::read_private_file(file);
    if (!secret || secret->empty()) continue;
    INFO(file);
    std::string line = secret->substr(0, secret->find('\n'));
    CHECK(text.find(line) == std::string::npos);
  }
}

void wait_ready(const std::string& env, launcher::lifecycle::ReadinessTarget target, int container_port) {
  auto endpoint = launcher::lifecycle::endpoint_for(inspect_container(env), container_port);
  REQUIRE(endpoint);
  target.host = launcher::lifecycle::reachable_host(*endpoint);
  target.port = endpoint->host_port;
  std::ostringstream progress;
  launcher::engine::DockerEngine engine{launcher::docker::Docker(docker())};
  launcher::lifecycle::wait_until_ready(engine, env, target, patient(std::chrono::seconds(60)), progress,
                                        [] { return false; });
}

json listed_by_ps(const TempDir& dir, const std::string& env) {
  json listed = json::parse(run_launcher(dir, {"ps", "--json"}).out);
  auto entry = std::find_if(listed.begin(), listed.end(), [&](const json& e) { return e["env"] == env; });
  return entry == listed.end() ? json() : *entry;
}

} // namespace

TEST_CASE("export: bad input is one line and exit 2, an equal file is left as it is", "[e2e][export]") {
  require_engine();
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"job": {"extends": "shell", "service": "command",
                                 "command": ["python3", "train.py"], "gpus": "none"}}})");
  std::string env = unique_name("export-bad");
  ComposeProject cleanup{dir.path / "compose.yaml", env};
  auto refused = [&](std::vector<std::string> args, const std::string& message) {
    args.insert(args.begin(), {"export", "--image", base_image(), "--name", env});
    auto result = run_launcher(dir, args);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK(result.err == "launcher: error: " + message + "\n");
    CHECK(result.out.empty());
  };
  refused({"--format", "kubernetes"},
          "command line (--format kubernetes): unknown format \"kubernetes\"; expected compose or devcontainer");
  refused({"--format", "compose", "-o", "/nonexistent-dir/compose.yaml"},
          "command line (--output /nonexistent-dir/compose.yaml): cannot write in /nonexistent-dir: No such file or "
          "directory");
  refused({"--format", "devcontainer", "--profile", "job"},
          "devcontainer cannot express the plan's \"command\"; --lossy exports without it");
  dir.write("compose.yaml", "services: {}\n");
  refused({"--format", "compose", "-o", "compose.yaml"},
          "command line (--output compose.yaml): the file exists and differs from this export; --force replaces it");
  CHECK(read_file(dir.path / "compose.yaml") == "services: {}\n");

  auto lossy = run_launcher(dir, {"export", "--format", "devcontainer", "--profile", "job", "--lossy", "--image",
                                  base_image(), "--name", env});
  CHECK(lossy.exit_code == 0);
  CHECK(lossy.err == "launcher: warning: left out of the export: the plan's \"command\" (--lossy)\n");
  CHECK(json::parse(lossy.out)["image"] == base_image());

  auto forced = run_launcher(
      dir, {"export", "--format", "compose", "-o", "compose.yaml", "--force", "--image", base_image(), "--name", env});
  INFO(forced.err);
  REQUIRE(forced.exit_code == 0);
  std::string first = read_file(dir.path / "compose.yaml");
  auto again = run_launcher(
      dir, {"export", "--format", "compose", "-o", "compose.yaml", "--image", base_image(), "--name", env});
  CHECK(again.exit_code == 0);
  CHECK(read_file(dir.path / "compose.yaml") == first);
  auto printed = run_launcher(dir, {"export", "--format", "compose", "--image", base_image(), "--name", env});
  CHECK(printed.out == first);
}

TEST_CASE(
    "export: no network outlasts an export, and a devcontainer's own is made at its start and launcher down removes it",
    "[e2e][export]") {
  require_engine();
  TempDir dir;
  std::string env = unique_name("export-net");
  std::string network = launcher::plan::own_network(env);
  ContainerGuard cleanup{env};
  fs::path file = dir.path / "devcontainer.json";
  auto exported = run_launcher(dir, {"export", "--format", "devcontainer", "--profile", "shell", "--gpus", "none",
                                     "--image", base_image(), "--name", env, "-o", file.string()});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK(run_process({docker(), "network", "inspect", network}).exit_code != 0);

  // What the devcontainer CLI runs on the host before each start; its container, once removed
  // (a rebuild, "remove container"), leaves the network behind.
  std::vector<std::string> initialize = json::parse(read_file(file))["initializeCommand"];
  REQUIRE(run_process(initialize).exit_code == 0);
  REQUIRE(run_process({docker(), "network", "inspect", network}).exit_code == 0);
  auto down = run_launcher(dir, {"down", env});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(down.out == "removed network " + network + " (no container of " + env + " was left)\n");
  CHECK(run_process({docker(), "network", "inspect", network}).exit_code != 0);
}

TEST_CASE("export: docker compose up --wait starts the jupyter profile as up does, compose down keeps the volumes",
          "[e2e][export][compose]") {
  require_engine();
  require_lifecycle_image();
  require_compose();
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"lab": {
      "extends": "jupyter", "gpus": "none", "shm_size": "1g", "ports": [{"host": "auto", "container": 8888}],
      "volumes": [{"host": "checkpoints", "container": "/checkpoints", "create": true}]}}})");
  // Made beforehand: a directory the plan still has to create is part of it (and of its hash).
  dir.write("checkpoints/.keep", "");
  std::string env = unique_name("export-lab");
  ComposeProject project{dir.path / "compose.yaml", env};

  // Exported first: `launcher down` then removes the env's network, which the file declares itself.
  export_to(dir, "compose", project.file, {"--profile", "lab", "--name", env});
  json made_by_up;
  {
    UpEnvironment up_env{dir, env};
    up(dir, {"--profile", "lab", "--name", env});
    made_by_up = inspect_container(env);
  }
  REQUIRE(run_process({docker(), "network", "inspect", launcher::plan::own_network(env)}).exit_code != 0);
  auto started = project.compose({"up", "-d", "--wait", "--wait-timeout", "180"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  json made_by_compose = inspect_container(env);
  check_agree(made_by_up, made_by_compose, true);
  // An engine with start intervals runs the image's check every half second while Jupyter starts,
  // so that --wait returns with it; `up` probes by itself and sets none.
  std::string engine = run_process({docker(), "version", "--format", "{{.Server.Version}}"}).out;
  bool start_interval = launcher::exporting::engine_of(engine.substr(0, engine.find('\n'))).health_start_interval;
  CHECK(made_by_compose["Config"]["Healthcheck"].value("StartInterval", 0) == (start_interval ? 500'000'000 : 0));
  CHECK(made_by_up["Config"]["Healthcheck"].value("StartInterval", 0) == 0);

  // The readiness `up` waits for, then the same checks as the lifecycle test, by header.
  std::string token = *launcher::secrets::read_private_file(state_of(dir, env).jupyter_token());
  wait_ready(env, {launcher::plan::Service::jupyter, "", 0, token, "", "", false}, 8888);
  int port = launcher::lifecycle::endpoint_for(made_by_compose, 8888)->host_port;
  httplib::Client client("127.0.0.1", port);
  CHECK(client.Get("/api/status")->status == 403);
  CHECK(client.Get("/api/status", {{"Authorization", "token " + token}})->status == 200);
  CHECK(client
            .Get("/api/status", {{"Authorization", "token " + token}, {"Host", "evil.example:" + std::to_string(port)}})
            ->status == 403);

  json listed = listed_by_ps(dir, env);
  CHECK(listed["profile"] == "lab");
  CHECK(listed["state"] == "running");

  check_no_secret_in(dir, env, read_file(project.file));
  auto config = project.compose({"config"});
  REQUIRE(config.exit_code == 0);
  check_no_secret_in(dir, env, config.out);
  check_no_secret_in(dir, env, run_process({docker(), "inspect", env}).out);

  REQUIRE(run_process({docker(), "exec", env, "touch", "/checkpoints/made-inside"}).exit_code == 0);
  auto down = project.compose({"down"});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(run_process({docker(), "inspect", env}).exit_code != 0);
  CHECK(fs::exists(dir.path / "checkpoints" / "made-inside"));
  CHECK(fs::exists(state_of(dir, env).jupyter_token()));
}

TEST_CASE("export: docker compose up --wait starts the ssh profile: key login with the pinned host key, no password",
          "[e2e][export][compose]") {
  require_engine();
  require_lifecycle_image();
  require_compose();
  TempDir dir;
  ClientKey client;
  write_remote_profile(dir, client);
  std::string env = unique_name("export-remote");
  ComposeProject project{dir.path / "compose.yaml", env};
  export_to(dir, "compose", project.file, {"--profile", "remote", "--name", env});
  auto started = project.compose({"up", "-d", "--wait", "--wait-timeout", "180"});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  std::string user = run_process({"id", "-un"}).out;
  user.pop_back();
  std::string pinned = *launcher::secrets::read_private_file(state_of(dir, env).host_public_key());
  wait_ready(env, {launcher::plan::Service::ssh, "", 0, "", user, pinned.substr(0, pinned.find('\n')), false}, 22);
  int port = launcher::lifecycle::endpoint_for(inspect_container(env), 22)->host_port;
  ssh_session session = ssh_new();
  ssh_options_set(session, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, user.c_str());
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null"); // the pinned key was checked by wait_ready
  REQUIRE(ssh_connect(session) == SSH_OK);
  CHECK(ssh_userauth_password(session, nullptr, "password") != SSH_AUTH_SUCCESS);
  CHECK(ssh_userauth_publickey(session, nullptr, client.key) == SSH_AUTH_SUCCESS);
  ssh_disconnect(session);
  ssh_free(session);

  CHECK(listed_by_ps(dir, env)["profile"] == "remote");
  check_no_secret_in(dir, env,
                     read_file(project.file) + project.compose({"config"}).out +
                         run_process({docker(), "inspect", env}).out);
}

TEST_CASE("export: the container Compose creates with GPUs agrees with docker create of the rendered argv",
          "[e2e][export][compose]") {
  require_engine();
  require_compose();
  TempDir dir;
  dir.write("data/sample", "x");
  std::string env = unique_name("export-gpus");
  ComposeProject project{dir.path / "compose.yaml", env};
  std::vector<std::string> flags{"--profile", "jupyter",         "--image", base_image(),    "--name", env,
                                 "--gpus",    "device=0,1",      "-v",      "data:/data:ro", "-p",     "18899:8888",
                                 "-e",        "HF_HOME=/data/hf"};

  std::vector<std::string> render_args{"render", "--json"};
  render_args.insert(render_args.end(), flags.begin(), flags.end());
  auto render = run_launcher(dir, render_args);
  INFO(render.err);
  REQUIRE(render.exit_code == 0);
  std::vector<std::string> argv = json::parse(render.out)["argv"];
  argv.erase(argv.begin(), argv.begin() + 3); // docker run -d
  argv.insert(argv.begin(), {docker(), "create"});

  std::vector<std::string> export_args{"export", "--format", "compose", "-o", project.file.string()};
  export_args.insert(export_args.end(), flags.begin(), flags.end());
  auto exported = run_launcher(dir, export_args); // makes the secrets, as up would
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  // The values, which neither file holds: the user fills the .env export wrote beside the compose
  // file, and `up` writes the file the rendered argv names.
  dir.write(".env", "HF_HOME=/data/hf\n");
  auto env_file = std::find(argv.begin(), argv.end(), "--env-file");
  REQUIRE(env_file != argv.end());
  launcher::secrets::ensure_private_dir(fs::path(*(env_file + 1)).parent_path());
  launcher::secrets::write_private_file(*(env_file + 1), "HF_HOME=/data/hf\n");

  // Compose first: it makes the env's network the file declares, which the rendered argv joins.
  auto composed = project.compose({"create"});
  INFO(composed.err);
  REQUIRE(composed.exit_code == 0);
  json made_by_compose = inspect_container(env);
  run_process({docker(), "rm", "-f", env});
  auto created = run_process(argv);
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  json made_by_run = inspect_container(env);
  check_agree(made_by_run, made_by_compose);
  CHECK(made_by_compose["HostConfig"]["DeviceRequests"][0]["DeviceIDs"] == json{"0", "1"});
}
