#include <catch2/catch.hpp>

#include <algorithm>

#include "render/render.hpp"
#include "support.hpp"

using namespace launcher;
using nlohmann::json;
using testing::builtin_plan;
using testing::check_golden;

namespace {

const std::string env_file = "/home/alice/.local/state/launcher/envs/project-shell/run.env";

std::string rendered(const plan::Plan& plan) {
  return testing::docker_container_command(plan, env_file).display() + "\n";
}

} // namespace

TEST_CASE("golden: the built-in jupyter profile on a host with GPUs", "[render][golden]") {
  check_golden("jupyter-gpu-host.txt", rendered(builtin_plan("jupyter", 8)));
}

TEST_CASE("golden: the built-in ssh profile on a host without GPUs", "[render][golden]") {
  check_golden("ssh-cpu-host.txt", rendered(builtin_plan("ssh", 0)));
}

TEST_CASE("golden: the built-in shell profile on a host without GPUs", "[render][golden]") {
  check_golden("shell-cpu-host.txt", rendered(builtin_plan("shell", 0)));
}

TEST_CASE("a GPU list renders as one argument with literal double quotes", "[render]") {
  plan::Plan plan = builtin_plan("shell", 0);
  plan.gpus = {plan::GpuAssignment::Kind::devices, {"0", "1"}};
  auto argv = testing::docker_container_command(plan, env_file).argv();
  auto gpus = std::find(argv.begin(), argv.end(), "--gpus");
  REQUIRE(gpus != argv.end());
  CHECK(*(gpus + 1) == "\"device=0,1\"");
  CHECK(testing::docker_container_command(plan, env_file).display().find("--gpus '\"device=0,1\"'") !=
        std::string::npos);
}

TEST_CASE("every piece of the plan renders in a fixed order", "[render]") {
  plan::Plan plan = builtin_plan("shell", 0);
  plan.service = plan::Service::command;
  plan.command = {"python", "-c", "print('hi')"};
  plan.ports = {{"::1", 2200, 22, plan::Protocol::tcp}, {"127.0.0.1", std::nullopt, 6006, plan::Protocol::udp}};
  plan.mounts = {{"/data/a,b \"x\"", "/data", true}};
  plan.environment = {{"B", "2"}, {"A", "1"}};
  plan.ipc = plan::Ipc::host;
  plan.cpus = 2.5;
  plan.memory_bytes = 16ULL << 30;
  plan.pids_limit = 4096;
  plan.restart = {plan::Restart::Policy::unless_stopped, std::nullopt};
  plan.labels = {{"team", "vision"}};
  plan.privileged = true;
  auto command = testing::docker_container_command(plan, env_file, engine::Launch::created);
  auto has = [&](std::vector<std::string> option) {
    return std::find(command.options.begin(), command.options.end(), option) != command.options.end();
  };
  CHECK(has({"--publish", "[::1]:2200:22/tcp"}));
  CHECK(has({"--publish", "127.0.0.1::6006/udp"}));
  CHECK(has({"--mount", "type=bind,\"src=/data/a,b \"\"x\"\"\",dst=/data,readonly"}));
  CHECK(has({"--ipc", "host"}));
  CHECK(has({"--cpus", "2.5"}));
  CHECK(has({"--memory", "16g"}));
  CHECK(has({"--pids-limit", "4096"}));
  CHECK(has({"--restart", "unless-stopped"}));
  CHECK(has({"--label", "team=vision"}));
  CHECK(has({"--privileged"}));
  CHECK(has({"--network", "launcher-" + plan.env}));
  CHECK(command.image_and_command ==
        std::vector<std::string>{"pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime", "python", "-c", "print('hi')"});
  auto env_file_option =
      std::find(command.options.begin(), command.options.end(), std::vector<std::string>{"--env-file", env_file});
  auto workdir =
      std::find(command.options.begin(), command.options.end(), std::vector<std::string>{"--workdir", "/workspace"});
  CHECK(env_file_option < workdir);
  CHECK(command.environment == std::map<std::string, std::string>{{"A", "1"}, {"B", "2"}});
  CHECK(command.argv()[0] == "docker");
  CHECK(command.argv()[1] == "create");
}

TEST_CASE("the profile's env values are on no command line: --env-file names the file that holds them",
          "[render][env]") {
  plan::Plan plan = builtin_plan("shell", 0);
  const std::string secret = "hf_s3cr3t-value-4711";
  plan.environment = {{"HF_TOKEN", secret}, {"WANDB_API_KEY", "w=and b "}};
  render::ContainerCommand command = testing::docker_container_command(plan, env_file);
  for (const auto& arg : command.argv()) {
    CHECK(arg.find(secret) == std::string::npos);
    CHECK(arg.find("HF_TOKEN") == std::string::npos);
    CHECK(arg.find("w=and b") == std::string::npos);
  }
  std::vector<std::string> argv = command.argv();
  auto option = std::find(argv.begin(), argv.end(), "--env-file");
  REQUIRE(option != argv.end());
  CHECK(*(option + 1) == env_file);
  CHECK(std::count(argv.begin(), argv.end(), "--env-file") == 1);
  // The preview names the variables and says how their values travel, never a value.
  std::string display = command.display();
  CHECK(display.find(secret) == std::string::npos);
  CHECK(display.rfind("# --env-file holds the values of HF_TOKEN WANDB_API_KEY (written with mode 0600 by "
                      "`launcher up` and removed once docker run has read it)\ndocker run -d \\\n",
                      0) == 0);
  CHECK(display.find("--env-file " + env_file + " \\\n") != std::string::npos);
}

TEST_CASE("a profile without env renders no --env-file and no comment", "[render][env]") {
  render::ContainerCommand command = testing::docker_container_command(builtin_plan("shell", 0), env_file);
  std::vector<std::string> argv = command.argv();
  CHECK(std::find(argv.begin(), argv.end(), "--env-file") == argv.end());
  CHECK(command.environment.empty());
  CHECK(command.display().rfind("docker run -d", 0) == 0);
}

TEST_CASE("the env file is NAME=VALUE lines with each value verbatim, as docker run's --env-file reads them",
          "[render][env]") {
  CHECK(render::env_file_text({}).empty());
  CHECK(render::env_file_text({{"B", "  spaces kept  "}, {"A", "x=y # not a comment"}, {"C", "\"quoted\""}}) ==
        "A=x=y # not a comment\nB=  spaces kept  \nC=\"quoted\"\n");
  CHECK(render::env_file_line_limit == 65535);
}

TEST_CASE("no secret-shaped value and no shell string: the argv is the plan", "[render]") {
  plan::Plan plan = builtin_plan("jupyter", 0);
  for (const auto& arg : testing::docker_container_command(plan, env_file).argv()) {
    CHECK(arg.find("TOKEN") == std::string::npos);
    CHECK(arg != "sh");
    CHECK(arg != "-c");
  }
}

TEST_CASE("shell_quote quotes only what needs it", "[render]") {
  CHECK(render::shell_quote("--shm-size") == "--shm-size");
  CHECK(render::shell_quote("type=bind,src=/a,dst=/b") == "type=bind,src=/a,dst=/b");
  CHECK(render::shell_quote("\"device=0,1\"") == "'\"device=0,1\"'");
  CHECK(render::shell_quote("it's") == "'it'\\''s'");
  CHECK(render::shell_quote("") == "''");
  CHECK(render::shell_quote("a b") == "'a b'");
  CHECK(render::shell_quote("$HOME") == "'$HOME'");
}

TEST_CASE("containers drop every capability but what launcher-init and the service need", "[render]") {
  auto options_of = [](const plan::Plan& plan) { return testing::docker_container_command(plan, env_file).options; };
  auto values = [](const std::vector<std::vector<std::string>>& options, const std::string& name) {
    std::vector<std::string> found;
    for (const auto& option : options)
      if (option[0] == name) found.push_back(option.size() > 1 ? option[1] : "");
    return found;
  };
  auto ssh = options_of(builtin_plan("ssh", 0));
  CHECK(values(ssh, "--cap-drop") == std::vector<std::string>{"ALL"});
  CHECK(values(ssh, "--cap-add") == std::vector<std::string>{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID",
                                                             "SETUID", "SYS_CHROOT", "AUDIT_WRITE"});
  CHECK(values(ssh, "--security-opt") == std::vector<std::string>{"no-new-privileges"});
  CHECK(values(ssh, "--tmpfs") == std::vector<std::string>{"/run/launcher:rw,nosuid,nodev,noexec,mode=0755"});
  CHECK(values(ssh, "--mount")[1] == "type=bind,src=/home/alice/.local/state/launcher/envs/project-ssh/secrets,dst=/"
                                     "run/launcher/root-only/secrets,readonly");
  std::vector<std::string> ssh_environment = values(ssh, "--env");
  CHECK(std::find(ssh_environment.begin(), ssh_environment.end(),
                  "LAUNCHER_SECRETS_DIR=/run/launcher/root-only/secrets") != ssh_environment.end());
  for (const auto& variable : ssh_environment)
    CHECK(variable.find("LAUNCHER_SSH_") != 0); // off: launcher-init's default

  plan::Plan forwarding = builtin_plan("ssh", 0);
  forwarding.access.ssh_forwarding = {true, true, true};
  std::vector<std::string> environment = values(options_of(forwarding), "--env");
  for (const char* variable :
       {"LAUNCHER_SSH_AGENT_FORWARDING=1", "LAUNCHER_SSH_STREAM_LOCAL_FORWARDING=1", "LAUNCHER_SSH_USER_RC=1"})
    CHECK(std::find(environment.begin(), environment.end(), variable) != environment.end());

  plan::Plan sudo = builtin_plan("jupyter", 0);
  sudo.user.sudo = true;
  auto with_sudo = options_of(sudo);
  CHECK(values(with_sudo, "--security-opt").empty());
  CHECK(values(with_sudo, "--cap-add").back() == "AUDIT_WRITE");
  CHECK(std::find(with_sudo.begin(), with_sudo.end(), std::vector<std::string>{"--env", "LAUNCHER_SUDO=1"}) !=
        with_sudo.end());
  CHECK(values(options_of(builtin_plan("shell", 0)), "--mount").size() == 1); // no secrets for a plain shell
}

TEST_CASE("only the ssh service gets AUDIT_WRITE without sudo: sshd ends a PTY login it cannot audit", "[render]") {
  auto cap_adds = [](const plan::Plan& plan) {
    std::vector<std::string> found;
    for (const auto& option : testing::docker_container_command(plan, env_file).options)
      if (option[0] == "--cap-add") found.push_back(option.at(1));
    return found;
  };
  auto has_audit_write = [&](const plan::Plan& plan) {
    auto caps = cap_adds(plan);
    return std::count(caps.begin(), caps.end(), "AUDIT_WRITE") == 1;
  };
  CHECK(has_audit_write(builtin_plan("ssh", 0)));
  CHECK(has_audit_write(builtin_plan("ssh", 8)));
  CHECK_FALSE(has_audit_write(builtin_plan("jupyter", 0)));
  CHECK_FALSE(has_audit_write(builtin_plan("shell", 0)));
  plan::Plan command = builtin_plan("shell", 0);
  command.service = plan::Service::command;
  command.command = {"python3", "train.py"};
  CHECK_FALSE(has_audit_write(command));

  plan::Plan ssh_with_sudo = builtin_plan("ssh", 0);
  ssh_with_sudo.user.sudo = true;
  CHECK(has_audit_write(ssh_with_sudo)); // once, not twice
}

TEST_CASE("the GPUs label says all, the device list or none", "[render]") {
  CHECK(render::gpus_label({plan::GpuAssignment::Kind::all, {}}) == "all");
  CHECK(render::gpus_label({plan::GpuAssignment::Kind::devices, {"0", "1"}}) == "0,1");
  CHECK(render::gpus_label({plan::GpuAssignment::Kind::none, {}}) == "none");
}

TEST_CASE("an env without GPUs hides them from a default nvidia runtime, one with GPUs does not", "[render]") {
  auto has_void = [](const plan::Plan& plan) {
    auto command = testing::docker_container_command(plan, env_file, engine::Launch::created);
    return std::find(command.options.begin(), command.options.end(),
                     std::vector<std::string>{"--env", "NVIDIA_VISIBLE_DEVICES=void"}) != command.options.end();
  };
  CHECK(has_void(builtin_plan("shell", 0)));
  CHECK_FALSE(has_void(builtin_plan("jupyter", 8)));
}

TEST_CASE("a read-only root gets tmpfs for /tmp, /run and /home, and resources are written out",
          "[render][resources]") {
  plan::Plan plan = builtin_plan("ssh", 0);
  plan.read_only_root = true;
  plan.cpuset_cpus = "0-15";
  plan.cpuset_mems = "0";
  std::vector<std::string> argv = testing::docker_container_command(plan, env_file).argv();
  auto after = [&](const std::string& option, const std::string& value) {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == option && argv[i + 1] == value) return true;
    return false;
  };
  CHECK(std::find(argv.begin(), argv.end(), "--read-only") != argv.end());
  CHECK(after("--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777"));
  CHECK(after("--tmpfs", "/run:rw,nosuid,nodev,mode=0755"));
  CHECK(after("--tmpfs", "/home:rw,nosuid,nodev,mode=0755"));
  CHECK(after("--memory", "58982m"));
  CHECK(after("--memory-swap", "58982m"));
  CHECK(after("--cpu-shares", "1024"));
  CHECK(after("--cpuset-cpus", "0-15"));
  CHECK(after("--cpuset-mems", "0"));
  plan.memory_bytes.reset();
  argv = testing::docker_container_command(plan, env_file).argv();
  CHECK(std::find(argv.begin(), argv.end(), "--memory") == argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "--memory-swap") == argv.end());
}

TEST_CASE("idle and max_age reach launcher-init as seconds", "[render][idle]") {
  plan::Plan plan = builtin_plan("jupyter", 0);
  auto argv = testing::docker_container_command(plan, env_file).argv();
  CHECK(std::none_of(argv.begin(), argv.end(), [](const std::string& arg) { return arg.find("LAUNCHER_IDLE") == 0; }));
  plan.self_stop = {7200, 10, 259200};
  argv = testing::docker_container_command(plan, env_file).argv();
  for (const char* setting :
       {"LAUNCHER_IDLE_STOP_AFTER=7200", "LAUNCHER_IDLE_GPU_UTIL_BELOW=10", "LAUNCHER_MAX_AGE=259200"}) {
    INFO(setting);
    auto found = std::find(argv.begin(), argv.end(), setting);
    REQUIRE(found != argv.end());
    CHECK(*(found - 1) == "--env");
  }
}

TEST_CASE("every env resolves host.docker.internal to the host, so a store on the host is reachable",
          "[render][backup]") {
  auto argv = testing::docker_container_command(builtin_plan("shell", 0), env_file).argv();
  auto found = std::find(argv.begin(), argv.end(), "host.docker.internal:host-gateway");
  REQUIRE(found != argv.end());
  CHECK(*(found - 1) == "--add-host");
}

TEST_CASE("a backup reaches launcher-init as settings and ps as a label, but its keys never do", "[render][backup]") {
  plan::Plan plan = builtin_plan("shell", 0);
  auto plain = testing::docker_container_command(plan, env_file).argv();
  CHECK(std::none_of(plain.begin(), plain.end(),
                     [](const std::string& arg) { return arg.find("LAUNCHER_BACKUP") == 0; }));
  plan.backup =
      plan::Backup{"s3://ckpt/team/dev", {"/ckpt", "/data/runs"}, 600, 3, "http://host.docker.internal:9000", "team"};
  auto argv = testing::docker_container_command(plan, env_file).argv();
  for (const char* setting : {"LAUNCHER_BACKUP_TO=s3://ckpt/team/dev",
                              "LAUNCHER_BACKUP_PATHS=[\"/ckpt\",\"/data/runs\"]", "LAUNCHER_BACKUP_EVERY=600",
                              "LAUNCHER_BACKUP_KEEP=3", "LAUNCHER_BACKUP_ENDPOINT=http://host.docker.internal:9000"}) {
    INFO(setting);
    auto found = std::find(argv.begin(), argv.end(), setting);
    REQUIRE(found != argv.end());
    CHECK(*(found - 1) == "--env");
  }
  auto label = std::find(argv.begin(), argv.end(), "io.launcher.backup=s3://ckpt/team/dev");
  REQUIRE(label != argv.end());
  CHECK(*(label - 1) == "--label");
  // The credentials profile's name is the host's business: nothing of it reaches the container.
  CHECK(std::none_of(argv.begin(), argv.end(), [](const std::string& arg) {
    return arg.find("team\"") != std::string::npos || arg.find("AWS_") != std::string::npos;
  }));
  plan.backup->endpoint.clear();
  argv = testing::docker_container_command(plan, env_file).argv();
  CHECK(std::none_of(argv.begin(), argv.end(),
                     [](const std::string& arg) { return arg.find("LAUNCHER_BACKUP_ENDPOINT") == 0; }));
}
