// Faults provoked for real: the daemon unreachable, the socket forbidden, the launcher killed
// or interrupted mid-`up`, two `up`s of one environment at once, state files damaged or gone.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "host/state_layout.hpp"
#include "secrets/generate.hpp"
#include "secrets/state.hpp"
#include "support.hpp"

extern char** environ;

using namespace launcher::e2e;
using nlohmann::json;

namespace {

// `launcher ARGS` started in `dir` without waiting, its output in files.
struct Background {
  pid_t pid = -1;
  std::filesystem::path out, err;

  Background(const TempDir& dir, std::vector<std::string> args, const std::string& tag)
      : out(dir.path / (tag + ".out")), err(dir.path / (tag + ".err")) {
    use_state_in(dir);
    args.insert(args.begin(), launcher_binary());
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&actions, dir.path.c_str());
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  int wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Background() {
    if (pid > 0) kill(pid, SIGKILL), wait();
  }
  std::string error_text() const {
    std::ifstream in(err);
    return {std::istreambuf_iterator<char>(in), {}};
  }
};

bool container_exists(const std::string& name) {
  return launcher::process::run_process({docker(), "container", "inspect", name}).exit_code == 0;
}

// `up` of the lifecycle image without GPUs on a free port, as every fault test starts it.
std::vector<std::string> up_args(const std::string& name) {
  return {"up", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()};
}

// Waits until `docker run` has created the container of `name`.
void wait_for_container(const std::string& name) {
  REQUIRE(wait_until([&] { return container_exists(name); }, std::chrono::seconds(60)));
}

} // namespace

TEST_CASE("faults: a daemon that does not answer and a forbidden socket get different messages", "[e2e][faults]") {
  require_engine();
  TempDir dir;
  setenv("DOCKER_HOST", ("unix://" + (dir.path / "nobody-listens.sock").string()).c_str(), 1);
  auto down = run_launcher(dir, {"ps"});
  unsetenv("DOCKER_HOST");
  CHECK(down.exit_code == 1);
  CHECK(down.err.find("the Docker daemon is not running; start it") != std::string::npos);

  // The real socket, asked by a user outside the docker group who names Docker (with no engine
  // named, such a user gets Podman where it is installed).
  auto forbidden = launcher::process::run_process(
      {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", launcher_binary(), "--engine", "docker", "ps"});
  CHECK(forbidden.exit_code == 1);
  CHECK(forbidden.err.find("permission denied on the Docker socket; add yourself to the docker group") !=
        std::string::npos);
}

TEST_CASE("faults: a launcher killed mid-up is finished by the next up, which finds the container by its labels",
          "[e2e][faults]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("killed");
  {
    Background first(dir, up_args(name), "first");
    wait_for_container(name);
    kill(first.pid, SIGKILL);
    CHECK(first.wait() == 128 + SIGKILL);
  }
  std::vector<std::string> again_args = up_args(name);
  again_args.push_back("--json");
  auto again = run_launcher(dir, again_args);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(json::parse(again.out)["status"] == "ready");
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
}

TEST_CASE("faults: Ctrl-C during up removes the container that run created", "[e2e][faults]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("interrupted");
  Background up(dir, up_args(name), "up");
  wait_for_container(name);
  kill(up.pid, SIGINT);
  CHECK(up.wait() == 128 + SIGINT);
  INFO(up.error_text());
  CHECK(without_warnings(up.error_text()) == "launcher: error: interrupted by SIGINT; removed the container " + name +
                                                 " and the network " + launcher::plan::own_network(name) +
                                                 " this `up` made\n");
  CHECK_FALSE(container_exists(name));
  CHECK(launcher::process::run_process({docker(), "network", "inspect", launcher::plan::own_network(name)}).exit_code !=
        0);
}

TEST_CASE("faults: two ups of one environment at once make one container", "[e2e][faults]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("twice");
  Background first(dir, up_args(name), "first");
  Background second(dir, up_args(name), "second");
  CHECK(first.wait() == 0);
  CHECK(second.wait() == 0);
  CHECK((first.error_text() + second.error_text()).find("another launcher is working on environment") !=
        std::string::npos);
  auto listed =
      launcher::process::run_process({docker(), "ps", "-a", "-q", "--filter", "label=io.launcher.env=" + name});
  CHECK(std::count(listed.out.begin(), listed.out.end(), '\n') == 1);
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
}

TEST_CASE("faults: damaged state is rebuilt from what Docker's labels confirm, lost secrets are made anew only with "
          "--recreate",
          "[e2e][faults]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string client_key = launcher::secrets::generate_host_key("e2e").public_line;
  dir.write("launcher.json", json{{"version", 1},
                                  {"profiles",
                                   {{"remote",
                                     {{"extends", "ssh"},
                                      {"gpus", "none"},
                                      {"ports", {{{"host", "auto"}, {"container", 22}}}},
                                      {"ssh", {{"authorized_keys", {client_key}}}}}}}}}
                                 .dump());
  std::string name = unique_name("state");
  ContainerGuard guard{name};
  std::vector<std::string> up{"up", "--profile", "remote", "--name", name, "--image", lifecycle_image()};
  auto first = run_launcher(dir, up);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  auto layout = launcher::host::state_layout(launcher::EnvName::parse(name), dir.path / ".state");
  auto read = [](const fs::path& file) { return launcher::secrets::read_private_file(file).value_or("(missing)"); };
  std::string plan = read(layout.env_dir / "plan.json"), known_hosts = read(layout.known_hosts());
  std::string ports = read(layout.host_ports());
  std::string container_id = launcher::process::run_process({docker(), "inspect", "--format", "{{.Id}}", name}).out;

  // What follows from the plan Docker's label confirms, and from the host key: rebuilt by `up`.
  dir.write(layout.env_dir / "plan.json", "{damaged");
  fs::remove(layout.known_hosts());
  fs::remove(layout.host_public_key());
  fs::remove(layout.host_ports());
  auto repaired = run_launcher(dir, up);
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  CHECK(read(layout.env_dir / "plan.json") == plan);
  CHECK(read(layout.known_hosts()) == known_hosts);
  CHECK(read(layout.host_ports()) == ports); // from the port the container was made with
  // `ssh-config` (and `ssh`) point at known_hosts: they rebuild it too.
  fs::remove(layout.known_hosts());
  CHECK(run_launcher(dir, {"ssh-config", name}).exit_code == 0);
  CHECK(read(layout.known_hosts()) == known_hosts);

  // A secret the running container was made with: refused, the container left as it is.
  fs::remove(layout.host_key());
  auto refused = run_launcher(dir, up);
  CHECK(refused.exit_code == 1);
  CHECK(without_warnings(refused.err) ==
        "launcher: error: the secrets of environment \"" + name + "\" in " + layout.secrets_dir.string() +
            " are damaged or gone (ssh_host_ed25519_key: missing), and its container was made with the old ones; "
            "`launcher up --recreate` makes new ones and replaces the container (volumes are kept)\n");
  CHECK(launcher::process::run_process({docker(), "inspect", "--format", "{{.Id}}", name}).out == container_id);

  // --recreate is the consent: a new host key, which the new container presents.
  up.push_back("--recreate");
  auto recreated = run_launcher(dir, up);
  INFO(recreated.err);
  CHECK(recreated.exit_code == 0);
  CHECK(read(layout.known_hosts()) != known_hosts);
  CHECK(launcher::process::run_process({docker(), "inspect", "--format", "{{.Id}}", name}).out != container_id);
}

TEST_CASE("faults: when Docker has no address range left, up names the launcher networks no environment uses",
          "[e2e][faults]") {
  require_engine();
  // Networks such as a removed container's leave behind, labelled as the launcher labels its own,
  // made until Docker has no range left (31 on a default engine, fewer where others exist).
  std::vector<std::string> left;
  struct Cleanup {
    std::vector<std::string>& networks;
    ~Cleanup() {
      for (const auto& network : networks)
        launcher::process::run_process({docker(), "network", "rm", network});
    }
  } cleanup{left};
  std::string refusal;
  for (int i = 0; i < 64 && refusal.empty(); ++i) {
    std::string env = unique_name("left-" + std::to_string(i));
    auto made = launcher::process::run_process(
        {docker(), "network", "create", "--label", "io.launcher.env=" + env, "launcher-" + env});
    if (made.exit_code == 0)
      left.push_back("launcher-" + env);
    else
      refusal = made.err;
  }
  INFO(refusal);
  // Engine 20.10's words, or 28's.
  REQUIRE((refusal.find("non-overlapping IPv4 address pool") != std::string::npos ||
           refusal.find("all predefined address pools have been fully subnetted") != std::string::npos));

  TempDir dir;
  std::string name = unique_name("no-range");
  ContainerGuard guard{name};
  auto up = run_launcher(dir, {"up", "--profile", "shell", "--gpus", "none", "--name", name, "--image", base_image()});
  CHECK(up.exit_code == 1);
  std::string said = without_warnings(up.err);
  CHECK(said.rfind("launcher: error: failed to create network launcher-" + name +
                       ": Docker has no address range left for another network (every range of its "
                       "default-address-pools is taken); remove networks nothing uses, or give dockerd more ranges "
                       "(default-address-pools in /etc/docker/daemon.json, then restart it); these launcher networks "
                       "belong to no environment: `docker network rm ",
                   0) == 0);
  for (const auto& network : left) {
    INFO(network);
    CHECK((said.find(" " + network + " ") != std::string::npos || said.find(" " + network + "`") != std::string::npos));
  }
  CHECK(launcher::process::run_process({docker(), "inspect", name}).exit_code != 0);
}
