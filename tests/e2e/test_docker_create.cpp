#include <unistd.h>

#include <algorithm>
#include <map>

#include "host/state_layout.hpp"
#include "launcher_contract/contract.hpp"
#include "render/render.hpp"
#include "secrets/env_secrets.hpp"
#include "secrets/generate.hpp"
#include "secrets/state.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// Renders the profile with the binary, creates (not starts) the container from exactly that
// argv, and returns the engine's own view of it.
struct Created {
  json rendered;
  json inspect;
};

Created create_from_profile(const TempDir& dir, const std::string& profile, const std::string& name,
                            std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"render", "--json", "--profile", profile, "--image", base_image(), "--name", name};
  args.insert(args.end(), extra.begin(), extra.end());
  auto render = run_launcher(dir, args);
  INFO(render.err);
  REQUIRE(render.exit_code == 0);
  json rendered = json::parse(render.out);

  // What `up` does before it runs docker: the environment's secrets, from the rendered plan.
  launcher::plan::Plan plan;
  plan.env = name;
  plan.service = launcher::plan::parse_service(rendered["plan"]["service"].get<std::string>(), "render --json");
  plan.access.secrets_dir = rendered["plan"]["access"]["secrets_dir"];
  // "" where the service has no Jupyter login.
  if (std::string auth = rendered["plan"]["access"]["jupyter_auth"]; !auth.empty())
    plan.access.jupyter_auth = launcher::plan::parse_jupyter_auth(auth, "render --json");
  plan.access.authorized_keys = {launcher::secrets::generate_host_key("e2e").public_line};
  launcher::secrets::ensure_env_secrets(plan, dir.path);

  std::vector<std::string> argv = rendered["argv"];
  REQUIRE(argv[1] == "run");
  REQUIRE(argv[2] == "-d");
  argv[0] = docker();
  argv.erase(argv.begin() + 1, argv.begin() + 3);
  argv.insert(argv.begin() + 1, "create");
  // What `up` writes for docker run: the env's values, in the file argv names.
  if (auto option = std::find(argv.begin(), argv.end(), "--env-file"); option != argv.end()) {
    launcher::secrets::ensure_private_dir(std::filesystem::path(*(option + 1)).parent_path());
    launcher::secrets::write_private_file(
        *(option + 1),
        launcher::render::env_file_text(rendered["plan"]["environment"].get<std::map<std::string, std::string>>()));
  }
  auto create = launcher::process::run_process(argv);
  INFO(create.err);
  REQUIRE(create.exit_code == 0);

  auto inspect = launcher::process::run_process({docker(), "inspect", name});
  REQUIRE(inspect.exit_code == 0);
  return {rendered, json::parse(inspect.out)[0]};
}

const char* team_file = R"({
  "version": 1,
  "profiles": {
    "train": {
      "extends": "shell",
      "gpus": "device=0,1",
      "ports": [{"host": 18888, "container": 8888}, {"host": 16006, "container": 6006, "protocol": "udp"}],
      "volumes": [{"host": "data", "container": "/data", "read_only": true},
                  {"host": "odd, \"dir\"", "container": "/odd"}],
      "env": {"WANDB_MODE": "offline"},
      "shm_size": "2g",
      "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
      "resources": {"cpus": 1.5, "memory": "3g", "pids_limit": 512},
      "restart": "unless-stopped",
      "labels": {"team": "vision"}
    },
    "everything": {"extends": "shell", "gpus": "all", "ipc": "host"}
  }
})";

} // namespace

TEST_CASE("a rendered profile means to the engine what the profile says", "[e2e][docker]") {
  require_engine();
  TempDir dir;
  dir.write("launcher.json", team_file);
  std::filesystem::create_directories(dir.path / "data");
  std::filesystem::create_directories(dir.path / "odd, \"dir\"");
  ContainerGuard guard{unique_name("train")};
  Created created = create_from_profile(dir, "train", guard.name);
  const json& host = created.inspect["HostConfig"];
  const json& config = created.inspect["Config"];

  SECTION("two GPUs by index, not one") {
    REQUIRE(host["DeviceRequests"].size() == 1);
    CHECK(host["DeviceRequests"][0]["DeviceIDs"] == json::array({"0", "1"}));
    CHECK(host["DeviceRequests"][0]["Capabilities"] == json::array({json::array({"gpu"})}));
    // `ps` reads the GPUs from this label, without an inspect.
    CHECK(config["Labels"]["io.launcher.gpus"] == "0,1");
  }
  SECTION("bind mounts, read-only where asked, odd characters intact") {
    json mounts = host["Mounts"];
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0] == json{{"Type", "bind"}, {"Source", dir.path.string()}, {"Target", "/workspace"}});
    CHECK(mounts[1] ==
          json{{"Type", "bind"}, {"Source", (dir.path / "data").string()}, {"Target", "/data"}, {"ReadOnly", true}});
    CHECK(mounts[2]["Source"] == (dir.path / "odd, \"dir\"").string());
  }
  SECTION("ports on 127.0.0.1 only") {
    CHECK(host["PortBindings"] == json{{"8888/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "18888"}}}},
                                       {"6006/udp", {{{"HostIp", "127.0.0.1"}, {"HostPort", "16006"}}}}});
  }
  SECTION("/dev/shm, ulimits and resources") {
    CHECK(host["ShmSize"] == (2LL << 30));
    json ulimits = json::object();
    for (const auto& limit : host["Ulimits"])
      ulimits[limit["Name"].get<std::string>()] = {limit["Soft"], limit["Hard"]};
    // memlock is unlimited where the daemon can grant it, else the daemon's own ceiling.
    const json& memlock = created.rendered["plan"]["ulimits"]["memlock"];
    CHECK(ulimits == json{{"memlock", {memlock["soft"], memlock["hard"]}},
                          {"stack", {67108864, 67108864}},
                          {"nofile", {1024, 2048}}});
    CHECK(host["NanoCpus"] == 1500000000LL);
    CHECK(host["Memory"] == (3LL << 30));
    CHECK(host["PidsLimit"] == 512);
    CHECK(host["RestartPolicy"]["Name"] == "unless-stopped");
    CHECK(host["Privileged"] == false);
    CHECK(host["IpcMode"] == "private");
  }
  SECTION("labels find the container again, and the user's ids reach launcher-init") {
    CHECK(config["Labels"]["io.launcher.env"] == guard.name);
    CHECK(config["Labels"]["io.launcher.profile"] == "train");
    CHECK(config["Labels"]["io.launcher.plan-hash"] == created.rendered["plan_hash"]);
    CHECK(config["Labels"]["team"] == "vision");
    std::vector<std::string> env = config["Env"];
    auto has = [&](const std::string& entry) { return std::find(env.begin(), env.end(), entry) != env.end(); };
    CHECK(has("LAUNCHER_UID=" + std::to_string(getuid())));
    CHECK(has("LAUNCHER_SERVICE=shell"));
    CHECK(has("WANDB_MODE=offline"));
    CHECK(config["WorkingDir"] == "/workspace");
    CHECK(config["Image"] == base_image());
  }
}

TEST_CASE("gpus all and ipc host reach the engine", "[e2e][docker]") {
  require_engine();
  TempDir dir;
  dir.write("launcher.json", team_file);
  ContainerGuard guard{unique_name("everything")};
  json host = create_from_profile(dir, "everything", guard.name).inspect["HostConfig"];
  CHECK(host["DeviceRequests"][0]["Count"] == -1);
  CHECK(host["IpcMode"] == "host");
}

TEST_CASE("the built-in jupyter and ssh profiles publish on loopback only, hardened", "[e2e][docker]") {
  require_engine();
  TempDir dir;
  ContainerGuard jupyter{unique_name("jupyter")};
  Created created = create_from_profile(dir, "jupyter", jupyter.name, {"--gpus", "none"});
  json jupyter_host = created.inspect["HostConfig"];
  // "auto": `render` leaves the host port to Docker; `up` picks one and remembers it per env.
  CHECK(jupyter_host["PortBindings"] == json{{"8888/tcp", {{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}}});
  CHECK(jupyter_host["DeviceRequests"].is_null());
  CHECK(jupyter_host["ShmSize"].get<long long>() >= (1LL << 30));
  CHECK(jupyter_host["CapDrop"] == json::array({"ALL"}));
  // Newer Docker clients store capabilities with their CAP_ prefix, older ones as given.
  std::vector<std::string> caps;
  for (std::string cap : jupyter_host["CapAdd"])
    caps.push_back(cap.rfind("CAP_", 0) == 0 ? cap.substr(4) : cap);
  CHECK(caps == std::vector<std::string>{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"});
  CHECK(jupyter_host["SecurityOpt"] == json::array({"no-new-privileges"}));
  CHECK(jupyter_host["PidsLimit"] == 32768);
  CHECK(jupyter_host["Tmpfs"] == json{{"/run/launcher", "rw,nosuid,nodev,noexec,mode=0755"}});
  CHECK(jupyter_host["Mounts"][1] == json{{"Type", "bind"},
                                          {"Source", created.rendered["plan"]["access"]["secrets_dir"]},
                                          {"Target", launcher::contract::mount::secrets_dir},
                                          {"ReadOnly", true}});
  // The token reaches the container only through that mount: nowhere in what Docker stores.
  std::string token =
      *launcher::secrets::read_env_secrets(
           launcher::host::state_layout(launcher::EnvName::parse(jupyter.name), dir.path / ".state"), jupyter.name)
           .jupyter_token;
  CHECK(token.size() == 64);
  CHECK(created.inspect.dump().find(token) == std::string::npos);

  ContainerGuard ssh{unique_name("ssh")};
  json ssh_host = create_from_profile(dir, "ssh", ssh.name, {"-p", "auto:7000"}).inspect["HostConfig"];
  CHECK(ssh_host["PortBindings"]["22/tcp"] == json::array({{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}));
  CHECK(ssh_host["PortBindings"]["7000/tcp"] == json::array({{{"HostIp", "127.0.0.1"}, {"HostPort", ""}}}));
}

TEST_CASE("the engine fact behind the quoting: unquoted device=0,1 gives one GPU", "[e2e][docker]") {
  // Guards the rendering choice in render.cpp: if Docker ever changed this, the quotes would be worth revisiting.
  require_engine();
  ContainerGuard guard{unique_name("unquoted")};
  auto create = launcher::process::run_process(
      {docker(), "create", "--name", guard.name, "--gpus", "device=0,1", base_image(), "true"});
  REQUIRE(create.exit_code == 0);
  json requests = json::parse(
      launcher::process::run_process({docker(), "inspect", guard.name}).out)[0]["HostConfig"]["DeviceRequests"];
  CHECK(requests[0]["DeviceIDs"] == json::array({"0"}));
}
