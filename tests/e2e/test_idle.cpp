// Envs that stop themselves: launcher-init inside watches Jupyter, sshd and nvidia-smi and stops an
// idle env after its "idle" window, or any env at its "max_age"; `ps` says why, and `up` starts it
// again with its files. Four envs run at once, so the whole test takes about one max_age. A fake
// nvidia-smi (a script on the env's PATH) reports a utilisation the test writes. Needs the
// offline CPU image (`make image`); also runs on the real image (LAUNCHER_E2E_IMAGE).
#include <httplib.h>
#include <libssh/libssh.h>
#include <sys/stat.h>

#include <chrono>
#include <regex>
#include <thread>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

namespace {

constexpr seconds window{20};  // each env's idle.stop_after
constexpr seconds max_age{50}; // the ssh env's: the login keeps it up past the window until then
constexpr seconds grace{15};   // what a stop may take beyond its time

// A directory with an nvidia-smi that reports one GPU at the utilisation in the file next to it.
fs::path fake_gpu(const TempDir& dir, const std::string& name, int utilization) {
  fs::path gpu = dir.path / name;
  fs::create_directories(gpu);
  dir.write(name + "/utilization", std::to_string(utilization) + "\n");
  dir.write(name + "/nvidia-smi", "#!/bin/sh\n"
                                  "# The test's nvidia-smi: GPU 0 at the utilisation the test wrote.\n"
                                  "printf '0, %s\\n' \"$(cat /opt/fake-gpu/utilization)\"\n");
  fs::permissions(gpu / "nvidia-smi", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(gpu, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  return gpu;
}

json watched_profile(const std::string& base, const fs::path& gpu) {
  return {{"extends", base},
          {"gpus", "none"},
          {"idle", {{"stop_after", "20s"}}},
          {"env", {{"PATH", "/opt/fake-gpu:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}},
          {"volumes",
           {{{"host", "."}, {"container", "/workspace"}},
            {{"host", gpu.string()}, {"container", "/opt/fake-gpu"}, {"read_only", true}}}}};
}

bool is_running(const std::string& name) {
  auto state = launcher::process::run_process({docker(), "inspect", "--format", "{{.State.Running}}", name});
  return state.out == "true\n";
}

// Polls until the container has stopped or `deadline`; when it stopped, as seen by this poll.
std::optional<Clock::time_point> wait_for_stop(const std::string& name, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (!is_running(name)) return Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return std::nullopt;
}

json ps_entry(const TempDir& dir, const std::string& name) {
  json listed = json::parse(run_launcher(dir, {"ps", "--json"}).out);
  for (const auto& entry : listed)
    if (entry["env"] == name) return entry;
  FAIL("no env " << name << " in ps");
  return {};
}

// An interactive SSH login (a terminal and a shell) held open, as a user's is.
struct SshLogin {
  ssh_session session = ssh_new();
  ssh_channel channel = nullptr;
  std::string seen;

  SshLogin(int port, ssh_key key) {
    ssh_options_set(session, SSH_OPTIONS_HOST, "127.0.0.1");
    ssh_options_set(session, SSH_OPTIONS_PORT, &port);
    ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    REQUIRE(ssh_connect(session) == SSH_OK);
    REQUIRE(ssh_userauth_publickey(session, nullptr, key) == SSH_AUTH_SUCCESS);
    channel = ssh_channel_new(session);
    REQUIRE(ssh_channel_open_session(channel) == SSH_OK);
    REQUIRE(ssh_channel_request_pty(channel) == SSH_OK);
    REQUIRE(ssh_channel_request_shell(channel) == SSH_OK);
  }
  ~SshLogin() {
    if (channel) ssh_channel_free(channel);
    ssh_disconnect(session);
    ssh_free(session);
  }
  // What the terminal showed so far.
  const std::string& read() {
    char buffer[4096];
    int count;
    while ((count = ssh_channel_read_nonblocking(channel, buffer, sizeof buffer, 0)) > 0)
      seen.append(buffer, static_cast<std::size_t>(count));
    return seen;
  }
};

} // namespace

TEST_CASE("idle envs stop themselves and say why, a busy kernel, an ssh login or a busy GPU keeps one up, "
          "max_age stops any, up starts them again with their files",
          "[e2e][lifecycle][idle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  json remote = watched_profile("ssh", fake_gpu(dir, "gpu-remote", 0));
  remote["max_age"] = "50s";
  remote["ports"] = {{{"host", "auto"}, {"container", 22}}};
  remote["ssh"] = {{"authorized_keys", {client.public_line}}};
  json lab = watched_profile("jupyter", fake_gpu(dir, "gpu-lab", 0));
  lab["ports"] = {{{"host", "auto"}, {"container", 8888}}};
  json busy = lab, gpu = lab;
  busy["volumes"][1]["host"] = fake_gpu(dir, "gpu-busy", 0).string();
  gpu["volumes"][1]["host"] = fake_gpu(dir, "gpu-used", 50).string();
  dir.write(
      "launcher.json",
      json{{"version", 1}, {"profiles", {{"lab", lab}, {"busy", busy}, {"gpu", gpu}, {"remote", remote}}}}.dump());
  // The fake nvidia-smi is mounted where programs of root run: the team file must be approved.
  REQUIRE(run_launcher(dir, {"trust", "launcher.json"}).exit_code == 0);

  UpEnvironment busy_env{dir, unique_name("idle-busy")};
  UpEnvironment gpu_env{dir, unique_name("idle-gpu")};
  UpEnvironment lab_env{dir, unique_name("idle-lab")};
  UpEnvironment remote_env{dir, unique_name("idle-remote")};
  auto test_start = Clock::now();

  json busy_ready = up(dir, {"--profile", "busy", "--name", busy_env.name});
  auto busy_up = Clock::now();
  // A kernel that runs 60 s and prints nothing, started through Jupyter's own API.
  std::string token = json::parse(run_launcher(dir, {"secret", "show", busy_env.name, "--json"}).out)["jupyter_token"];
  httplib::Client jupyter("127.0.0.1", busy_ready["ports"][0]["host_port"].get<int>());
  auto kernel = jupyter.Post("/api/kernels", {{"Authorization", "token " + token}}, "{}", "application/json");
  REQUIRE(kernel);
  REQUIRE(kernel->status == 201);
  std::string kernel_id = json::parse(kernel->body)["id"];
  exec_in(dir, busy_env.name,
          {"python3", "-c",
           "import jupyter_client\n"
           "client = jupyter_client.BlockingKernelClient(connection_file='/run/launcher/jupyter/runtime/kernel-" +
               kernel_id +
               ".json')\n"
               "client.load_connection_file()\n"
               // wait_for_ready takes a kernel that misses one heartbeat for dead; the default 1 s
               // is too short on a loaded host (seen as the rootless Podman user).
               "client.hb_channel.time_to_dead = 10.0\n"
               "client.start_channels()\n"
               "client.wait_for_ready(timeout=30)\n"
               "client.execute('import time; time.sleep(60)')\n"});

  up(dir, {"--profile", "gpu", "--name", gpu_env.name});
  auto gpu_up = Clock::now();
  up(dir, {"--profile", "lab", "--name", lab_env.name});
  auto lab_up = Clock::now();
  exec_in(dir, lab_env.name, {"sh", "-c", "echo draft > \"$HOME/before-stop.txt\""});
  json remote_ready = up(dir, {"--profile", "remote", "--name", remote_env.name});
  auto remote_up = Clock::now();
  SshLogin login(remote_ready["ports"][0]["host_port"].get<int>(), client.key);

  // Nobody uses the lab env: a notice file in Jupyter's root (/workspace: this directory), then the stop.
  fs::path notice = dir.path / "LAUNCHER-STOPPING-SOON.txt";
  bool notice_seen = false;
  while (!notice_seen && is_running(lab_env.name) && Clock::now() < lab_up + window + grace) {
    notice_seen = fs::exists(notice);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  CHECK(notice_seen);
  auto lab_stopped = wait_for_stop(lab_env.name, lab_up + window + grace);
  REQUIRE(lab_stopped);
  auto idle_stop_seconds = std::chrono::duration<double>(*lab_stopped - lab_up).count();
  std::cerr << "idle stop: " << idle_stop_seconds << " s after `up` returned (window " << window.count() << " s)\n";
  CHECK_FALSE(fs::exists(notice)); // removed with the stop
  json lab_entry = ps_entry(dir, lab_env.name);
  CHECK(lab_entry["state"] == "exited");
  CHECK(lab_entry["status"] == "stopped: idle 20s (no kernel busy)");
  CHECK(lab_entry["stop_reason"] == "idle 20s (no kernel busy)");
  auto lab_log = launcher::process::run_process({docker(), "logs", lab_env.name});
  // The notice says the time left at the look that gave it: 5 s or a little less.
  CHECK(std::regex_search(lab_log.err, std::regex(R"(launcher-init: notice: this environment stops in [1-5]s )"
                                                  R"(\(idle 20s \(no kernel busy, GPU 0 util < 5%\)\))")));
  CHECK(lab_log.err.find("launcher-init: stopping the environment: idle 20s (no kernel busy, GPU 0 util < 5%)") !=
        std::string::npos);

  // A busy kernel, a busy GPU and an open ssh login each keep theirs up past the window and more.
  for (auto [name, ready] : {std::pair{busy_env.name, busy_up}, {gpu_env.name, gpu_up}, {remote_env.name, remote_up}}) {
    std::this_thread::sleep_until(ready + window + grace);
    INFO(name);
    CHECK(is_running(name));
  }
  run_launcher(dir, {"down", busy_env.name, "--force"});
  run_launcher(dir, {"down", gpu_env.name, "--force"});

  // max_age stops the ssh env however used, with a notice on the login's terminal first.
  auto remote_stopped = wait_for_stop(remote_env.name, remote_up + max_age + grace);
  REQUIRE(remote_stopped);
  std::cerr << "max_age stop: " << std::chrono::duration<double>(*remote_stopped - remote_up).count()
            << " s after `up` returned (max_age " << max_age.count() << " s)\n";
  CHECK(login.read().find("this environment stops in") != std::string::npos);
  CHECK(ps_entry(dir, remote_env.name)["status"] == "stopped: max_age 50s");

  // Stopped, never removed: `up` starts the lab env again with the file written before.
  up(dir, {"--profile", "lab", "--name", lab_env.name});
  CHECK(exec_in(dir, lab_env.name, {"sh", "-c", "cat \"$HOME/before-stop.txt\""}) == "draft\n");
  std::cerr << "idle e2e: " << std::chrono::duration<double>(Clock::now() - test_start).count() << " s\n";
}
