#include "env_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "launcher_contract/stop_reason.hpp"
#include "net.hpp"

namespace launcher_init {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds nvidia_smi_timeout{5000};

void log(const std::string& message) { write_fully(STDERR_FILENO, "launcher-init: " + message + "\n"); }

// Starts `argv` (argv[0] absolute) as root with stdin and stderr on /dev/null and stdout on
// `output_fd` (-1: /dev/null too); its PID, or -1. The supervisor reaps what is not waited for.
pid_t spawn(const std::vector<std::string>& argv, const std::string& program_path, int output_fd) {
  std::vector<char*> arguments;
  for (const auto& argument : argv)
    arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  std::string path = "PATH=" + program_path;
  char* environment[] = {path.data(), nullptr};
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 ||
      ::dup2(output_fd < 0 ? null_fd : output_fd, STDOUT_FILENO) < 0 || ::dup2(null_fd, STDERR_FILENO) < 0)
    ::_exit(127);
  ::setsid();
  std::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(arguments[0], arguments.data(), environment);
  ::_exit(127);
}

// The standard output of `argv`, or nullopt when it fails or outlasts `timeout` (then it is
// killed and left to the supervisor's reaping: a process stuck in the GPU driver may never end).
std::optional<std::string> capture(const std::vector<std::string>& argv, const std::string& program_path,
                                   milliseconds timeout) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return std::nullopt;
  pid_t pid = spawn(argv, program_path, pipe_fds[1]);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return std::nullopt;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string output;
  char buffer[4096];
  while (true) {
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd watched{pipe_fds[0], POLLIN, 0};
    if (left <= 0 || (::poll(&watched, 1, static_cast<int>(left)) == 0)) {
      ::kill(pid, SIGKILL);
      ::close(pipe_fds[0]);
      return std::nullopt;
    }
    ssize_t count = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    output.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(pipe_fds[0]);
  int wait_status = 0;
  if (::waitpid(pid, &wait_status, 0) != pid || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0)
    return std::nullopt;
  return output;
}

// The processes whose parent is `parent`: sshd's children are its sessions (one per connection).
int children_of(pid_t parent) {
  int count = 0;
  std::error_code error;
  for (fs::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    auto name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(it->path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(file)), {});
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so from the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (fields >> state >> ppid && ppid == parent) ++count;
  }
  return count;
}

std::string duration_text(std::chrono::seconds duration) { return launcher::contract::format_duration(duration); }

class EnvWatch : public Watch {
public:
  EnvWatch(const Settings& settings, const WatchPlaces& places)
      : settings_(settings), places_(places),
        stop_watch_({settings.idle, settings.max_age, settings.has(Service::jupyter), settings.has(Service::ssh)},
                    WallClock::now()) {}

  milliseconds period() const override { return stop_watch_.period(); }

  std::optional<int> check(const std::vector<std::pair<std::string, pid_t>>& running) override {
    auto verdict = stop_watch_.observe(observe(running));
    switch (verdict.action) {
    case Verdict::Action::keep:
      return std::nullopt;
    case Verdict::Action::notify:
      notify(verdict);
      return std::nullopt;
    case Verdict::Action::withdraw:
      log("notice withdrawn: the environment is in use again");
      remove_notice_file();
      return std::nullopt;
    case Verdict::Action::stop:
      log("stopping the environment: " + verdict.reason + "; its files stay, `launcher up` starts it again");
      return verdict.exit_status;
    }
    return std::nullopt;
  }

  void stopping() override { remove_notice_file(); }

private:
  Observation observe(const std::vector<std::pair<std::string, pid_t>>& running) {
    Observation observation;
    if (settings_.has(Service::jupyter)) look_at_jupyter(observation);
    for (const auto& [name, pid] : running) {
      if (name == "ssh") observation.ssh_sessions = children_of(pid);
    }
    if (auto nvidia_smi = find_program("nvidia-smi", settings_.program_path)) {
      auto csv = capture({*nvidia_smi, "--query-gpu=index,utilization.gpu", "--format=csv,noheader,nounits"},
                         settings_.program_path, nvidia_smi_timeout);
      if (csv) observation.gpus = parse_gpu_utilization(*csv);
      report_change(gpu_failed_, !csv, "nvidia-smi did not answer; the GPUs count as idle", "nvidia-smi answers again");
    }
    observation.at = WallClock::now();
    return observation;
  }

  void look_at_jupyter(Observation& observation) {
    try {
      auto token = read_file(places_.jupyter_token_file);
      auto address = probe_address(settings_);
      auto status = jupyter_get(address, settings_.jupyter_port, "/api/status", token);
      // no_track_activity: this look must not count as a client's.
      auto kernels = jupyter_get(address, settings_.jupyter_port, "/api/kernels?no_track_activity=1", token);
      observation.jupyter_last_activity = last_activity_of_status(status);
      observation.kernel_busy = any_kernel_busy(kernels);
      report_change(jupyter_failed_, false, "", "Jupyter answers again");
    } catch (const Error& error) {
      observation.jupyter_unanswered = true;
      report_change(jupyter_failed_, true, std::string(error.what()) + "; it counts as in use", "");
    }
  }

  // One log line when a look starts failing and one when it works again, not one per look.
  static void report_change(bool& failing, bool now_failing, const std::string& failed, const std::string& recovered) {
    if (failing == now_failing) return;
    failing = now_failing;
    log(now_failing ? failed : recovered);
  }

  void notify(const Verdict& verdict) {
    std::string message = "this environment stops in " + duration_text(verdict.left) + " (" + verdict.reason +
                          "); its files stay, and `launcher up` starts it again";
    if (verdict.reason.starts_with("idle")) message += ". Use it to keep it running";
    log("notice: " + message);
    if (settings_.has(Service::ssh)) {
      if (auto wall = find_program("wall", settings_.program_path))
        spawn({*wall, "launcher: " + message}, settings_.program_path, -1);
    }
    if (settings_.has(Service::jupyter)) {
      try {
        write_file_atomically(places_.jupyter_root_dir / stop_notice_file, message + "\n", 0644, places_.user);
        notice_written_ = true;
      } catch (const Error& error) {
        log(std::string("warning: ") + error.what());
      }
    }
  }

  void remove_notice_file() {
    if (!notice_written_) return;
    notice_written_ = false;
    auto path = places_.jupyter_root_dir / stop_notice_file;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      log("warning: " + std::string(system_failure("remove", path.string()).what()));
  }

  const Settings& settings_;
  WatchPlaces places_;
  StopWatch stop_watch_;
  bool jupyter_failed_ = false;
  bool gpu_failed_ = false;
  bool notice_written_ = false;
};

} // namespace

std::unique_ptr<Watch> make_env_watch(const Settings& settings, const WatchPlaces& places) {
  if (!settings.idle && !settings.max_age) return nullptr;
  return std::make_unique<EnvWatch>(settings, places);
}

} // namespace launcher_init
