// Attacks from the review of a running install, replayed for real: a second local user against
// the GPU table, a trusted holder that never lets the table go or damages it, and one
// environment's code against another's services.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "file_mode.hpp"
#include "gpu/lock.hpp"
#include "support.hpp"

extern char** environ;

using namespace launcher::e2e;
using launcher::process::run_process;
using launcher::testing::mode_of;
using nlohmann::json;

namespace {

// A local user without the docker group, made for the test and removed after it.
struct LocalUser {
  std::string name = "launcher-e2e-" + std::to_string(getpid());
  LocalUser() { REQUIRE(run_process({"useradd", "--no-create-home", "--shell", "/bin/sh", name}).exit_code == 0); }
  ~LocalUser() { run_process({"userdel", name}); }

  // `sh -c SCRIPT` as this user, with no supplementary groups.
  launcher::process::ProcessResult shell(const std::string& script) const {
    return run_process(
        {"setpriv", "--reuid=" + name, "--regid=" + name, "--clear-groups", "--reset-env", "sh", "-c", script});
  }
};

// A process holding flock(LOCK_EX) on `file` until the test ends: `sleep`, exec'd by flock
// without a fork, so killing it frees the lock.
struct LockHolder {
  pid_t pid = -1;
  explicit LockHolder(const fs::path& file) {
    std::vector<std::string> args{"flock", "--exclusive", "--no-fork", file.string(), "sleep", "600"};
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawnp(&pid, "flock", nullptr, nullptr, argv.data(), environ) == 0);
    wait_until([&] { return launcher::gpu::describe_lock_holder(file) != "another process"; }, std::chrono::seconds(30),
               std::chrono::milliseconds(50));
  }
  ~LockHolder() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

// A host-wide directory, replaced for this test process and what it starts from now on by an empty
// one of the same owner and mode (a tmpfs in a mount namespace of its own): what the test plants,
// holds or damages there, the envs of this host's users and another test run never see (nor it
// theirs). The process goes back to the host's namespace when it ends.
struct PrivateDirectory {
  int host_namespace = -1;
  explicit PrivateDirectory(const char* directory) {
    struct stat shared {};
    REQUIRE(stat(directory, &shared) == 0);
    host_namespace = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    REQUIRE(host_namespace >= 0);
    if (unshare(CLONE_NEWNS) != 0) skip_or_fail(std::string("no mount namespace of its own: ") + strerror(errno));
    REQUIRE(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
    char options[64];
    std::snprintf(options, sizeof options, "mode=%o,uid=%u,gid=%u", shared.st_mode & 07777, shared.st_uid,
                  shared.st_gid);
    REQUIRE(mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options) == 0);
  }
  ~PrivateDirectory() {
    setns(host_namespace, CLONE_NEWNS);
    close(host_namespace);
  }
  PrivateDirectory(const PrivateDirectory&) = delete;
  PrivateDirectory& operator=(const PrivateDirectory&) = delete;
};

// A never-started container that the launcher takes for an env holding GPU 0: `docker create`
// records the device request even on a host without GPUs.
void create_gpu_env(const std::string& name) {
  auto created = run_process({docker(), "create", "--name", name, "--label", "io.launcher.env=" + name, "--gpus",
                              "\"device=0\"", base_image(), "true"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
}

std::string address_in(const std::string& container, const std::string& network) {
  auto inspect = run_process({docker(), "inspect", "--format", "{{json .NetworkSettings.Networks}}", container});
  REQUIRE(inspect.exit_code == 0);
  return json::parse(inspect.out).at(network).at("IPAddress").get<std::string>();
}

// Whether code in `from` can open a TCP connection to address:port within 3 s.
bool reaches(const std::string& from, const std::string& address, int port) {
  std::string probe = "import socket; socket.create_connection(('" + address + "', " + std::to_string(port) + "), 3)";
  return run_process({docker(), "exec", from, "python3", "-c", probe}).exit_code == 0;
}

} // namespace

TEST_CASE("security: another local user cannot turn the GPU table against root", "[e2e][security][root]") {
  require_engine();
  require_lifecycle_image();
  LocalUser attacker;
  TempDir dir;
  // A file of the caller's that the attacker may see listed but not read.
  fs::path open_dir = dir.path / "open";
  fs::create_directory(open_dir);
  REQUIRE(chmod(open_dir.c_str(), 0755) == 0);
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);
  fs::path victim = open_dir / "private";
  std::ofstream(victim) << "root's secret\n";
  REQUIRE(chmod(victim.c_str(), 0600) == 0);

  // Finding 1: the world-writable /run/lock made this a hijack of the caller's files.
  PrivateDirectory private_lock_dir("/run/lock");
  auto planted = attacker.shell("mkdir -p /run/lock/launcher && chmod 1777 /run/lock/launcher && ln -s " +
                                victim.string() + " /run/lock/launcher/gpus.json");
  INFO(planted.err);
  REQUIRE(planted.exit_code == 0);
  // The table's own place is root's: the attacker can neither make it nor plant a link in it.
  CHECK(attacker.shell("mkdir -p /run/launcher && ln -s " + victim.string() + " /run/launcher/gpus.json").exit_code !=
        0);

  std::string name = unique_name("victim");
  auto started =
      run_launcher(dir, {"up", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  INFO(started.err);
  CHECK(started.exit_code == 0);
  std::string gpu_env = unique_name("victim-gpu");
  create_gpu_env(gpu_env);
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
  CHECK(run_launcher(dir, {"down", gpu_env, "--force"}).exit_code == 0);
  CHECK(mode_of(victim) == 0600);
  CHECK(attacker.shell("cat " + victim.string()).exit_code != 0);
  CHECK(fs::is_symlink("/run/lock/launcher/gpus.json"));

  // Root made the table's directory for the docker group; a user outside it cannot open the table.
  CHECK((mode_of(launcher::gpu::shared_lock_dir) & 0007) == 0);
  CHECK(attacker.shell("cat /run/launcher/gpus.json").exit_code != 0);
  CHECK(attacker.shell("flock /run/launcher/gpus.json true").exit_code != 0);
}

TEST_CASE("security: a held or damaged GPU table never hangs or blocks down", "[e2e][security][docker-engine]") {
  require_engine();
  TempDir dir;
  fs::path table = fs::path(launcher::gpu::shared_lock_dir) / "gpus.json";
  std::string gpu_env = unique_name("held");
  ContainerGuard guard{gpu_env};

  create_gpu_env(gpu_env);
  run_launcher(dir, {"down", gpu_env, "--force"}); // makes the table's directory if it is not there
  PrivateDirectory private_table(launcher::gpu::shared_lock_dir);
  create_gpu_env(gpu_env);
  run_launcher(dir, {"down", gpu_env, "--force"}); // makes this test's own table

  // Finding 2, held: down waits its bound, names the holder, and still removes the container.
  create_gpu_env(gpu_env);
  {
    LockHolder holder(table);
    auto start = std::chrono::steady_clock::now();
    auto down = run_launcher(dir, {"down", gpu_env, "--force"});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(down.err);
    CHECK(down.exit_code == 0);
    CHECK(seconds < patient(std::chrono::seconds(30)).count());
    CHECK(down.err.find("launcher: warning: the GPU table " + table.string() + " has been locked by process ") !=
          std::string::npos);
    CHECK(down.err.find("(sleep, user root) for more than 10 s") != std::string::npos);
    CHECK(run_process({docker(), "container", "inspect", gpu_env}).exit_code != 0);
  }

  // Finding 2, damaged: down says which file and what to do, and removes the container.
  { std::ofstream(table, std::ios::trunc) << "garbage"; }
  create_gpu_env(gpu_env);
  auto down = run_launcher(dir, {"down", gpu_env, "--force"});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(down.err.find("launcher: warning: GPU table " + table.string() + " is not what the launcher writes") !=
        std::string::npos);
  CHECK(down.err.find("remove it when no launcher is running") != std::string::npos);
  CHECK(run_process({docker(), "container", "inspect", gpu_env}).exit_code != 0);
}

TEST_CASE("security: each environment has its own network, and two cannot reach each other", "[e2e][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"lab": {
      "extends": "jupyter", "gpus": "none", "shm_size": "1g", "ports": [{"host": "auto", "container": 8888}]}}})");
  UpEnvironment first{dir, unique_name("first")};
  UpEnvironment second{dir, unique_name("second")};
  up(dir, {"--profile", "lab", "--name", first.name});
  up(dir, {"--profile", "lab", "--name", second.name});

  std::string network = "launcher-" + first.name;
  auto options = run_process({docker(), "network", "inspect", "--format", "{{json .Options}}", network});
  REQUIRE(options.exit_code == 0);
  // Docker's switch for traffic inside the network; Podman's, between networks (it routes between them).
  bool podman = engine_is_podman();
  CHECK(json::parse(options.out).value(podman ? "isolate" : "com.docker.network.bridge.enable_icc", "") ==
        (podman ? "true" : "false"));
  std::string second_address = address_in(second.name, "launcher-" + second.name);
  CHECK(reaches(second.name, second_address, 8888)); // the probe itself works
  CHECK_FALSE(reaches(first.name, second_address, 8888));

  CHECK(run_launcher(dir, {"down", first.name, "--force"}).exit_code == 0);
  CHECK(run_process({docker(), "network", "inspect", network}).exit_code != 0);
}

TEST_CASE("security: environments join a shared network only when their profile names it", "[e2e][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string shared = unique_name("team");
  dir.write("launcher.json", R"({"version": 1, "profiles": {"lab": {
      "extends": "jupyter", "gpus": "none", "shm_size": "1g", "network": ")" +
                                 shared + R"(",
      "ports": [{"host": "auto", "container": 8888}]}}})");
  UpEnvironment first{dir, unique_name("member-a")};
  UpEnvironment second{dir, unique_name("member-b")};
  up(dir, {"--profile", "lab", "--name", first.name});
  up(dir, {"--profile", "lab", "--name", second.name});
  CHECK(reaches(first.name, address_in(second.name, shared), 8888));
  run_launcher(dir, {"down", first.name, "--force"});
  run_launcher(dir, {"down", second.name, "--force"});
  CHECK(run_process({docker(), "network", "rm", shared}).exit_code == 0);
}

TEST_CASE("security: up prints doctor's warnings before it starts", "[e2e][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("warned");
  UpEnvironment env{dir, name};
  auto started =
      run_launcher(dir, {"up", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  // Docker Engine before 28 lets the network segment reach loopback ports; Podman's forwarder does not.
  auto version = run_process({docker(), "version", "--format", "{{.Server.Version}}"});
  REQUIRE((version.exit_code == 0 || engine_is_podman()));
  bool old_engine = !engine_is_podman() && std::stoi(version.out) < 28;
  CHECK((started.err.find("launcher: warning: loopback-publish: ") != std::string::npos) == old_engine);
  if (old_engine) CHECK(started.err.find("containers' bridge addresses directly") != std::string::npos);
}

TEST_CASE("security: the image holds no setuid or setgid program but sudo", "[e2e][security][image]") {
  require_engine();
  require_lifecycle_image();
  // su, mount, passwd, chsh, newgrp, unix_chkpwd, ssh-keysign... are inert under no-new-privileges
  // but live where it is lifted ("sudo": true, a snapshot run by hand): the build strips them.
  auto found = run_process({docker(), "run", "--rm", "--entrypoint", "find", lifecycle_image(), "/", "-xdev", "-type",
                            "f", "-perm", "/6000"});
  INFO(found.err);
  REQUIRE(found.exit_code == 0);
  CHECK(found.out == "/usr/bin/sudo\n");
}

TEST_CASE("security: sudo true still gives the env's user root and a plain env does not", "[e2e][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  // The user's own config (no team file to approve): a non-root user, with and without sudo, in a
  // command service that stays up without a terminal (the shell service ends without one).
  const TestUser user = test_user();
  dir.write(".config/launcher/profiles.json", nlohmann::json{{"version", 1},
                                                             {"profiles",
                                                              {{"idle",
                                                                {{"extends", "shell"},
                                                                 {"service", "command"},
                                                                 {"command", {"sleep", "infinity"}},
                                                                 {"gpus", "none"},
                                                                 {"user", user.profile_user("dev")}}},
                                                               {"admin", {{"extends", "idle"}, {"sudo", true}}},
                                                               {"plain", {{"extends", "idle"}}}}}}
                                                  .dump());
  // The project directory, mounted at /workspace, must let that user in, as a real one does.
  fs::permissions(dir.path,
                  fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add);
  UpEnvironment admin{dir, unique_name("sudo")};
  UpEnvironment plain{dir, unique_name("nosudo")};
  up(dir, {"--profile", "admin", "--name", admin.name});
  up(dir, {"--profile", "plain", "--name", plain.name});
  auto as_root = run_process({docker(), "exec", "-u", user.ids(), admin.name, "sudo", "-n", "id", "-u"});
  INFO(as_root.err);
  CHECK(as_root.exit_code == 0);
  CHECK(as_root.out == "0\n");
  auto refused = run_process({docker(), "exec", "-u", user.ids(), plain.name, "sudo", "-n", "id", "-u"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.out.empty());
}
