#include "supervisor.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "error.hpp"
#include "process_environment.hpp"

namespace launcher_init {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t max_output_line = 64 * 1024;

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGCHLD, SIGTERM, SIGINT, SIGHUP})
    sigaddset(&set, signal);
  return set;
}

// A log nobody reads any more must not stop the services: write errors are ignored.
void log(const std::string& message) { write_fully(STDERR_FILENO, "launcher-init: " + message + "\n"); }

std::string seconds_text(Clock::duration duration) {
  auto tenths = std::chrono::duration_cast<milliseconds>(duration).count() / 100;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") + "s";
}

// execve's arrays, built before fork so that the child does little besides system calls.
struct ExecArguments {
  explicit ExecArguments(const ServiceSpec& spec) {
    for (const auto& argument : spec.argv)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    for (const auto& entry : spec.environment)
      envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
  }
  std::vector<char*> argv;
  std::vector<char*> envp;
};

[[noreturn]] void exit_child(const char* verb, const char* object) {
  std::string message =
      std::string("launcher-init: failed to ") + verb + ": " + object + ": " + std::strerror(errno) + "\n";
  write_fully(STDERR_FILENO, message);
  ::_exit(127);
}

// Runs in the forked child: detach, drop privileges, exec.
[[noreturn]] void become_service(const ServiceSpec& spec, const ExecArguments& exec, int output_fd, int null_fd) {
  if (spec.foreground) {
    // Own process group, in the terminal's foreground, so Ctrl-C reaches the program alone.
    ::setpgid(0, 0);
    if (::isatty(STDIN_FILENO)) {
      std::signal(SIGTTOU, SIG_IGN);
      ::tcsetpgrp(STDIN_FILENO, ::getpid());
      std::signal(SIGTTOU, SIG_DFL);
    }
  } else {
    ::setsid();
    if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
        ::dup2(output_fd, STDERR_FILENO) < 0) {
      exit_child("redirect output of", spec.name.c_str());
    }
  }
  if (spec.run_as) {
    gid_t group = spec.run_as->gid;
    if (::setgroups(1, &group) != 0 || ::setgid(group) != 0 || ::setuid(spec.run_as->uid) != 0) {
      exit_child("drop privileges for", spec.name.c_str());
    }
  }
  if (::chdir(spec.working_directory.c_str()) != 0) exit_child("change directory to", spec.working_directory.c_str());
  std::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(exec.argv[0], exec.argv.data(), exec.envp.data());
  exit_child("execute", exec.argv[0]);
}

struct ServiceState {
  const ServiceSpec* spec;
  RestartBackoff backoff;
  pid_t pid = 0; // 0: not running
  Clock::time_point started_at;
  std::optional<Clock::time_point> restart_at;
};

// A service's output pipe; it outlives the process when grandchildren hold it open.
struct OutputStream {
  std::string prefix;
  int fd = -1;
  std::string partial_line;
};

class Supervisor {
public:
  Supervisor(const std::vector<ServiceSpec>& services, const SupervisorOptions& options);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;
  ~Supervisor();
  int run();

private:
  void start(ServiceState& service);
  void handle_signals();
  void reap_children();
  void on_exit(ServiceState& service, int wait_status);
  void begin_stop(int signal);
  void kill_remaining();
  bool read_output(OutputStream& output); // false at end of file
  void emit_lines(OutputStream& output, bool flush_partial);
  bool anything_running() const;
  bool restart_pending() const;
  int poll_timeout_ms() const;
  void look();

  SupervisorOptions options_;
  std::vector<ServiceState> services_;
  std::vector<OutputStream> outputs_;
  int signal_fd_ = -1;
  int null_fd_ = -1;
  bool stopping_ = false;
  bool killed_ = false;
  Clock::time_point stop_deadline_;
  Clock::time_point next_look_;
  std::optional<int> exit_status_;
  std::optional<int> own_stop_status_; // the env watch's stop (idle, max_age): kept whatever the services exit with
};

Supervisor::Supervisor(const std::vector<ServiceSpec>& services, const SupervisorOptions& options) : options_(options) {
  for (const auto& spec : services) {
    ServiceState state{&spec, RestartBackoff(options.restart_policy), 0, {}, std::nullopt};
    services_.push_back(state);
  }
  sigset_t signals = handled_signals();
  signal_fd_ = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) throw system_failure("watch signals", "signalfd");
  null_fd_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd_ < 0) throw system_failure("open", "/dev/null");
}

Supervisor::~Supervisor() {
  for (auto& output : outputs_)
    ::close(output.fd);
  ::close(signal_fd_);
  ::close(null_fd_);
}

void Supervisor::start(ServiceState& service) {
  const auto& spec = *service.spec;
  int pipe_fds[2] = {-1, -1};
  if (!spec.foreground && ::pipe2(pipe_fds, O_CLOEXEC) != 0) throw system_failure("create pipe for", spec.name);
  ExecArguments exec(spec);
  pid_t pid = ::fork();
  if (pid < 0) throw system_failure("start", spec.name);
  if (pid == 0) become_service(spec, exec, pipe_fds[1], null_fd_);
  service.pid = pid;
  service.started_at = Clock::now();
  service.restart_at.reset();
  if (!spec.foreground) {
    ::close(pipe_fds[1]);
    ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    outputs_.push_back({"[" + spec.name + "] ", pipe_fds[0], {}});
  }
  log("started " + spec.name + " (pid " + std::to_string(pid) + ")");
}

int Supervisor::run() {
  for (auto& service : services_)
    start(service);
  if (options_.watch) next_look_ = Clock::now() + options_.watch->period();
  while (anything_running() || (!stopping_ && restart_pending())) {
    std::vector<pollfd> watched{{signal_fd_, POLLIN, 0}};
    for (const auto& output : outputs_)
      watched.push_back({output.fd, POLLIN, 0});
    if (::poll(watched.data(), watched.size(), poll_timeout_ms()) < 0 && errno != EINTR) {
      throw system_failure("wait for", "services");
    }
    if (watched[0].revents & POLLIN) handle_signals();
    for (std::size_t i = 1; i < watched.size(); ++i) {
      auto& output = outputs_[i - 1];
      if (watched[i].revents != 0 && !read_output(output)) {
        ::close(output.fd);
        output.fd = -1;
      }
    }
    std::erase_if(outputs_, [](const OutputStream& output) { return output.fd < 0; });

    auto now = Clock::now();
    if (stopping_ && !killed_ && now >= stop_deadline_) kill_remaining();
    if (stopping_) continue;
    if (options_.watch && now >= next_look_) look();
    if (stopping_) continue;
    for (auto& service : services_) {
      if (service.restart_at && now >= *service.restart_at) start(service);
    }
  }
  // Take what the services wrote last, without waiting for grandchildren that keep pipes open.
  for (auto& output : outputs_) {
    read_output(output);
    emit_lines(output, true);
  }
  return exit_status_.value_or(0);
}

void Supervisor::look() {
  std::vector<std::pair<std::string, pid_t>> running;
  for (const auto& service : services_) {
    if (service.pid != 0) running.emplace_back(service.spec->name, service.pid);
  }
  auto status = options_.watch->check(running);
  next_look_ = Clock::now() + options_.watch->period();
  if (!status) return;
  own_stop_status_ = exit_status_ = *status;
  begin_stop(SIGTERM);
}

void Supervisor::handle_signals() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    int signal = static_cast<int>(info.ssi_signo);
    if (signal == SIGTERM || signal == SIGINT) {
      begin_stop(signal);
    } else if (signal == SIGHUP) {
      for (const auto& service : services_) {
        if (service.pid != 0) ::kill(service.pid, SIGHUP);
      }
    }
  }
  reap_children(); // also when SIGCHLDs were merged into one
}

void Supervisor::reap_children() {
  int wait_status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &wait_status, WNOHANG)) > 0) {
    auto service = std::find_if(services_.begin(), services_.end(),
                                [pid](const ServiceState& candidate) { return candidate.pid == pid; });
    // Anything else is an orphan that was re-parented to us: reaping it is all it needs.
    if (service != services_.end()) on_exit(*service, wait_status);
  }
}

void Supervisor::on_exit(ServiceState& service, int wait_status) {
  const auto& name = service.spec->name;
  auto ran_for = Clock::now() - service.started_at;
  service.pid = 0;
  if (service.spec->foreground) {
    exit_status_ = own_stop_status_.value_or(exit_status_of(wait_status));
    begin_stop(SIGTERM);
    return;
  }
  if (stopping_) {
    log(name + " stopped (" + describe_wait_status(wait_status) + ")");
    return;
  }
  auto delay = service.backoff.after_exit(std::chrono::duration_cast<milliseconds>(ran_for));
  if (!delay) {
    log("failed to keep running: " + name + ": exited " + std::to_string(service.backoff.quick_failures()) +
        " times in a row soon after starting (last: " + describe_wait_status(wait_status) + ")");
    exit_status_ = exit_failed;
    begin_stop(SIGTERM);
    return;
  }
  log(name + " exited (" + describe_wait_status(wait_status) + ") after " + seconds_text(ran_for) + "; restarting in " +
      seconds_text(*delay));
  service.restart_at = Clock::now() + *delay;
}

void Supervisor::begin_stop(int signal) {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = Clock::now() + options_.stop_timeout;
  if (options_.watch) options_.watch->stopping();
  for (auto& service : services_) {
    service.restart_at.reset();
    if (service.pid != 0) ::kill(service.pid, signal);
  }
}

void Supervisor::kill_remaining() {
  killed_ = true;
  for (const auto& service : services_) {
    if (service.pid == 0) continue;
    log("failed to stop in time: " + service.spec->name + ": still running " +
        std::to_string(options_.stop_timeout.count()) + "s after the stop signal; sending SIGKILL");
    ::kill(-service.pid, SIGKILL); // its process group: helpers it started go too
    ::kill(service.pid, SIGKILL);
    if (!exit_status_) exit_status_ = exit_failed;
  }
}

bool Supervisor::read_output(OutputStream& output) {
  char buffer[8192];
  while (true) {
    ssize_t count = ::read(output.fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      emit_lines(output, false);
      return errno == EAGAIN;
    }
    if (count == 0) {
      emit_lines(output, true);
      return false;
    }
    output.partial_line.append(buffer, static_cast<std::size_t>(count));
  }
}

void Supervisor::emit_lines(OutputStream& output, bool flush_partial) {
  std::string text;
  std::size_t start = 0;
  auto& pending = output.partial_line;
  for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n', start)) {
    text.append(output.prefix).append(pending, start, newline + 1 - start);
    start = newline + 1;
  }
  pending.erase(0, start);
  if (!pending.empty() && (flush_partial || pending.size() >= max_output_line)) {
    text.append(output.prefix).append(pending).append("\n");
    pending.clear();
  }
  write_fully(STDOUT_FILENO, text);
}

bool Supervisor::anything_running() const {
  return std::any_of(services_.begin(), services_.end(), [](const ServiceState& service) { return service.pid != 0; });
}

bool Supervisor::restart_pending() const {
  return std::any_of(services_.begin(), services_.end(),
                     [](const ServiceState& service) { return service.restart_at.has_value(); });
}

int Supervisor::poll_timeout_ms() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point when) {
    if (!next || when < *next) next = when;
  };
  if (stopping_ && !killed_) consider(stop_deadline_);
  if (!stopping_) {
    for (const auto& service : services_) {
      if (service.restart_at) consider(*service.restart_at);
    }
    if (options_.watch) consider(next_look_);
  }
  if (!next) return -1;
  auto wait = std::chrono::ceil<milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
}

} // namespace

void take_over_signals() {
  sigset_t signals = handled_signals();
  if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) throw system_failure("block", "signals");
  // A closed log must not kill PID 1; children get the default back before exec.
  std::signal(SIGPIPE, SIG_IGN);
  // Outside a container (tests) orphans would go to the host's init; as PID 1 they come anyway.
  if (::getpid() != 1 && ::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw system_failure("become", "child subreaper");
}

int supervise(const std::vector<ServiceSpec>& services, const SupervisorOptions& options) {
  Supervisor supervisor(services, options);
  return supervisor.run();
}

} // namespace launcher_init
