// Resources on real containers: the limits and sets `render` writes are what Docker applies, a
// read-only root still serves Jupyter and SSH, and an env that runs out of memory is killed
// alone and said to be by `ps` and `up`.
#include <chrono>
#include <ctime>
#include <iostream>

#include "support.hpp"

using namespace launcher::e2e;
using launcher::process::run_process;
using nlohmann::json;

namespace {

json host_config(const std::string& container) {
  auto inspect = run_process({docker(), "container", "inspect", "--format", "{{json .HostConfig}}", container});
  REQUIRE(inspect.exit_code == 0);
  return json::parse(inspect.out);
}

// The value that follows `option` in the rendered argv.
std::string rendered(const json& argv, const std::string& option) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option) return argv[i + 1];
  FAIL("the rendered docker run has no " << option);
  return "";
}

launcher::process::ProcessResult exec_as(const std::string& container, const std::string& user,
                                         const std::string& script) {
  return run_process({docker(), "exec", "-u", user, container, "sh", "-c", script});
}

} // namespace

TEST_CASE("resources: docker inspect shows the rendered limits, CPU set and read-only root of an SSH env",
          "[e2e][resources]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  UpEnvironment env{dir, unique_name("resources-ssh")};
  write_remote_profile(
      dir, client,
      {{"read_only_root", true},
       {"user", {{"uid", 4321}, {"gid", 4321}, {"name", "e2e"}}},
       {"resources", {{"memory", "512m"}, {"cpu_shares", 512}, {"cpuset_cpus", "0"}, {"cpuset_mems", "0"}}}});
  auto render =
      run_launcher(dir, {"render", "--json", "--profile", "remote", "--name", env.name, "--image", lifecycle_image()});
  INFO(render.err);
  REQUIRE(render.exit_code == 0);
  json argv = json::parse(render.out)["argv"];
  // up waits for sshd to answer with the pinned host key: the read-only root serves SSH.
  up(dir, {"--profile", "remote", "--name", env.name});
  json config = host_config(env.name);
  CHECK(config["Memory"] == 512LL << 20);
  CHECK(config["MemorySwap"] == 512LL << 20); // no swap beyond the limit
  CHECK(rendered(argv, "--memory") == "512m");
  CHECK(config["CpuShares"] == 512);
  CHECK(config["CpusetCpus"] == "0");
  CHECK(config["CpusetMems"] == "0");
  CHECK(config["ReadonlyRootfs"] == true);
  for (const char* mount : {"/tmp", "/run", "/home", "/run/launcher"})
    CHECK(config["Tmpfs"].contains(mount));
  CHECK(exec_as(env.name, "0", "touch /etc/launcher-probe").exit_code != 0);
  CHECK(exec_as(env.name, "0", "touch /workspace/.launcher-probe && rm /workspace/.launcher-probe").exit_code == 0);
  // By number: Docker looks names up in /etc/passwd only, and the user is not there.
  CHECK(exec_as(env.name, "4321:4321", "touch /home/e2e/probe /tmp/probe").exit_code == 0);
  // The account lives in the extrausers files on the tmpfs; /etc/passwd is the image's.
  CHECK(exec_as(env.name, "0", "grep -c '^e2e:' /etc/passwd").out == "0\n");
  CHECK(exec_as(env.name, "0", "getent passwd e2e").out == "e2e:x:4321:4321::/home/e2e:/bin/bash\n");
}

TEST_CASE("resources: Jupyter with a read-only root and the default memory limit", "[e2e][resources]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("resources-jupyter")};
  dir.write("launcher.json", json{{"version", 1},
                                  {"profiles",
                                   {{"notebook",
                                     {{"extends", "jupyter"},
                                      {"gpus", "none"},
                                      {"read_only_root", true},
                                      {"ports", {{{"host", "auto"}, {"container", 8888}}}}}}}}}
                                 .dump());
  auto render = run_launcher(
      dir, {"render", "--json", "--profile", "notebook", "--name", env.name, "--image", lifecycle_image()});
  REQUIRE(render.exit_code == 0);
  json argv = json::parse(render.out)["argv"];
  // up's readiness check is Jupyter's API answering with the token.
  json ready = up(dir, {"--profile", "notebook", "--name", env.name});
  CHECK(ready["status"] == "ready");
  json config = host_config(env.name);
  CHECK(config["ReadonlyRootfs"] == true);
  CHECK(std::to_string(config["Memory"].get<long long>() >> 20) + "m" == rendered(argv, "--memory"));
  CHECK(config["MemorySwap"] == config["Memory"]);
  CHECK(config["CpuShares"] == 1024);
  CHECK(config["ShmSize"].get<long long>() <= config["Memory"].get<long long>() / 2);
}

TEST_CASE("resources: an env past its memory limit is OOM-killed alone, and ps and up say so", "[e2e][resources]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment neighbour{dir, unique_name("resources-neighbour")};
  UpEnvironment hog{dir, unique_name("resources-hog")};
  dir.write("launcher.json",
            json{{"version", 1},
                 {"profiles",
                  {{"hog",
                    {{"extends", "shell"},
                     {"gpus", "none"},
                     {"service", "command"},
                     {"resources", {{"memory", "256m"}}},
                     {"command",
                      {"python3", "-c", "import time; time.sleep(2); hog = bytearray(600 * 2**20); time.sleep(60)"}}}},
                   {"idle", {{"extends", "shell"}, {"gpus", "none"}}}}}}
                .dump());
  up(dir, {"--profile", "idle", "--name", neighbour.name});
  up(dir, {"--profile", "hog", "--name", hog.name});

  // Wait for the kill, then for ps to say it: the time between the two is the figure to report.
  json status;
  wait_until(
      [&] {
        auto ps = run_launcher(dir, {"ps", "--json"});
        REQUIRE(ps.exit_code == 0);
        for (const auto& entry : json::parse(ps.out))
          if (entry["env"] == hog.name) status = entry;
        return status.value("status", "").find("out of memory") != std::string::npos;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200));
  INFO(status.dump());
  CHECK(status["state"] == "exited");
  CHECK(status["status"].get<std::string>().find("out of memory: the kernel killed a process in it (limit 256m); raise "
                                                 "resources.memory, then launcher up --recreate") != std::string::npos);
  // Printed for the record (not asserted): the kill's time from Docker, and when ps said it.
  auto said = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(said);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", std::gmtime(&seconds));
  auto finished = run_process({docker(), "container", "inspect", "--format", "{{.State.FinishedAt}}", hog.name});
  std::cout << "OOM: container finished at " << finished.out << "OOM: ps said so at " << when << "."
            << std::chrono::duration_cast<std::chrono::milliseconds>(said.time_since_epoch()).count() % 1000 << "Z\n";

  // The host and the other env kept running.
  CHECK(run_process({docker(), "container", "inspect", "--format", "{{.State.Running}}", neighbour.name}).out ==
        "true\n");

  auto again = run_launcher(dir, {"up", "--profile", "hog", "--name", hog.name, "--image", lifecycle_image()});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find(
            "launcher: environment \"" + hog.name +
            "\" stopped after running out of memory: the kernel killed a "
            "process in it (limit 256m); starting it again. To give it more, raise resources.memory in the profile, "
            "then `launcher up --recreate`") != std::string::npos);
}
