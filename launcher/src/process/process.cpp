#include "process/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/fd_output.hpp"
#include "core/text.hpp"

extern char** environ;

namespace launcher::process {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::atomic<int> signals_received{0};
std::atomic<int> last_signal{0};
std::atomic<bool> scope_active{false};
std::atomic<int> signals_seen{0}; // signals_received when the scope began or was last acknowledged
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free counter");

void count_signal(int signal) {
  last_signal.store(signal);
  signals_received.fetch_add(1);
}

constexpr int interrupt_signals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previous_actions[3];

struct Pipe {
  int read_end = -1;
  int write_end = -1;

  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      throw Error(ExitCode::failed, std::string("failed to create a pipe: ") + std::strerror(errno));
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read() {
    if (read_end >= 0) close(read_end), read_end = -1;
  }
  void close_write() {
    if (write_end >= 0) close(write_end), write_end = -1;
  }
};

// Where execvp would find `program`: itself when it names a path, else the first file of that
// name in a directory of $PATH; "" when there is none.
std::string locate(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), F_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  std::string directories = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= directories.size()) {
    std::size_t end = directories.find(':', start);
    if (end == std::string::npos) end = directories.size();
    std::string directory = directories.substr(start, end - start);
    std::string candidate = (directory.empty() ? "." : directory) + "/" + program;
    if (access(candidate.c_str(), F_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// The interpreter a script's "#!" line names, or "".
std::string interpreter_of(const std::string& file) {
  std::ifstream stream(file, std::ios::binary);
  char head[256] = {};
  stream.read(head, sizeof head - 1);
  std::string line(head, static_cast<std::size_t>(stream.gcount()));
  if (line.rfind("#!", 0) != 0) return "";
  line = line.substr(2, line.find('\n') - 2);
  std::size_t first = line.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  line = line.substr(first);
  return line.substr(0, line.find_first_of(" \t\r"));
}

std::size_t argument_bytes(const std::vector<char*>& args, const std::vector<char*>& environment) {
  std::size_t bytes = 0;
  for (const auto* list : {&args, &environment})
    for (const char* entry : *list)
      if (entry) bytes += std::strlen(entry) + 1 + sizeof(char*);
  return bytes;
}

void end_child(pid_t pid, bool own_group) {
  pid_t target = own_group ? -pid : pid;
  kill(target, SIGTERM);
  auto deadline = steady_clock::now() + kill_grace;
  int status = 0;
  while (steady_clock::now() < deadline) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) {
      // The child is gone; what it left in its group goes too.
      if (own_group) kill(target, SIGKILL);
      return;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  kill(target, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

} // namespace

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const auto& directory : split(path ? path : "", ':'))
    if (!directory.empty() && access((std::filesystem::path(directory) / program).c_str(), X_OK) == 0) return true;
  return false;
}

TimedOut::TimedOut(const std::string& command, milliseconds limit)
    : Error(ExitCode::failed, "`" + command + "` timed out after " +
                                  (limit.count() % 1000 == 0 ? std::to_string(limit.count() / 1000) + " s"
                                                             : std::to_string(limit.count()) + " ms")),
      command_(command), limit_(limit) {}

Interrupted::Interrupted(int signal, const std::string& message)
    : Error(static_cast<ExitCode>(128 + signal), message), signal_(signal) {}

InterruptScope::InterruptScope() {
  struct sigaction action {};
  action.sa_handler = count_signal;
  sigemptyset(&action.sa_mask);
  signals_seen.store(signals_received.load());
  scope_active.store(true);
  for (int i = 0; i < 3; ++i)
    sigaction(interrupt_signals[i], &action, &previous_actions[i]);
}

InterruptScope::~InterruptScope() {
  for (int i = 0; i < 3; ++i)
    sigaction(interrupt_signals[i], &previous_actions[i], nullptr);
  scope_active.store(false);
}

int InterruptScope::pending() {
  if (!scope_active.load() || signals_received.load() == signals_seen.load()) return 0;
  return last_signal.load();
}

void InterruptScope::acknowledge() { signals_seen.store(signals_received.load()); }

int last_interrupt_signal() { return last_signal.load(); }

std::string signal_name(int signal) {
  switch (signal) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  case SIGHUP:
    return "SIGHUP";
  default:
    return "signal " + std::to_string(signal);
  }
}

std::string command_line_for_message(const std::vector<std::string>& argv) {
  constexpr std::size_t word_limit = 60, line_limit = 200;
  std::string line;
  for (const auto& word : argv) {
    std::string shown = word.size() > word_limit ? word.substr(0, word_limit) + "…" : word;
    if (!line.empty()) line += ' ';
    if (line.size() + shown.size() > line_limit) return line + "…";
    line += shown;
  }
  return line;
}

std::string spawn_failure_message(const std::string& program, int error_number, std::size_t bytes) {
  const std::string failed = "failed to run " + program + ": ";
  std::string found = locate(program);
  struct stat info {};
  bool directory = !found.empty() && stat(found.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
  switch (error_number) {
  case ENOENT:
    if (found.empty()) return failed + (program.find('/') != std::string::npos ? "no such file" : "not found on PATH");
    if (std::string interpreter = interpreter_of(found); !interpreter.empty())
      return failed + "its interpreter " + interpreter + " (the #! line of " + found + ") does not exist";
    return failed + found + " exists but cannot be run (a missing interpreter or loader)";
  case E2BIG:
    return failed + "argument list too long (" + std::to_string(bytes) + " bytes of arguments/environment)";
  case EACCES:
  case EPERM:
    if (directory) return failed + found + " is a directory, not a program";
    return failed + (found.empty() ? program : found) + " is not executable (permission denied)";
  case ENOEXEC:
    return failed + (found.empty() ? program : found) + " is not a program this system can run (exec format error)";
  case ENOTDIR:
    return failed + "a part of its path is not a directory";
  default:
    return failed + std::strerror(error_number);
  }
}

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  std::string_view input = options.input;
  if (int signal = InterruptScope::pending())
    throw Interrupted(signal,
                      "interrupted by " + signal_name(signal) + " before `" + command_line_for_message(argv) + "`");
  const bool own_group = options.timeout.has_value();
  // Shown output goes straight to our stderr, unless it is relayed to notice silence.
  const bool relayed = options.show_output && options.quiet_after && options.on_quiet;
  const bool direct = options.show_output && !relayed;
  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, direct ? STDERR_FILENO : out.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, direct ? STDERR_FILENO : err.write_end, STDERR_FILENO);
  if (!options.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  // A bounded child gets a group of its own, so that ending it ends what it started too.
  if (own_group) flags |= POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setflags(&attributes, flags);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int signal : interrupt_signals)
    sigaddset(&defaults, signal);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);

  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  // Ours come first: getenv takes the first of two equal names.
  std::vector<char*> environment;
  for (const auto& entry : options.extra_env)
    environment.push_back(const_cast<char*>(entry.c_str()));
  for (char** entry = environ; *entry; ++entry)
    environment.push_back(*entry);
  environment.push_back(nullptr);

  pid_t pid = 0;
  int spawn_error = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawn_error != 0)
    throw SpawnFailed(spawn_failure_message(argv[0], spawn_error, argument_bytes(args, environment)), spawn_error);
  in.close_read();
  out.close_write();
  err.close_write();

  // A child that exits without reading its input must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::size_t written = 0;
  if (input.empty())
    in.close_write();
  else
    fcntl(in.write_end, F_SETFL, O_NONBLOCK);

  const auto start = steady_clock::now();
  // The loop wakes at least this often to look at the clock and at the signals counted.
  constexpr int slice_ms = 100;
  auto check_limits = [&] {
    if (int signal = InterruptScope::pending()) {
      end_child(pid, own_group);
      throw Interrupted(signal,
                        "interrupted by " + signal_name(signal) + " during `" + command_line_for_message(argv) + "`");
    }
    if (options.timeout && steady_clock::now() - start >= *options.timeout) {
      end_child(pid, own_group);
      throw TimedOut(command_line_for_message(argv), *options.timeout);
    }
  };

  ProcessResult result;
  char buffer[65536];
  auto last_output = start;
  while (out.read_end >= 0 || err.read_end >= 0) {
    check_limits();
    if (relayed && steady_clock::now() - last_output >= *options.quiet_after) {
      last_output = steady_clock::now();
      options.on_quiet(std::chrono::duration_cast<milliseconds>(last_output - start));
    }
    pollfd fds[3] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}, {in.write_end, POLLOUT, 0}};
    if (poll(fds, 3, slice_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t n = write(in.write_end, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == input.size()) in.close_write();
    }
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Pipe& pipe = i == 0 ? out : err;
      ssize_t n = read(pipe.read_end, buffer, sizeof buffer);
      if (n > 0 && relayed) {
        last_output = steady_clock::now();
        // What cannot be written (stderr closed) is dropped, as the child's own write would be.
        write_fully(STDERR_FILENO, std::string_view(buffer, static_cast<std::size_t>(n)));
      } else if (n > 0) {
        (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        pipe.close_read();
      }
    }
  }
  in.close_write();

  // The child closed its output; it may still be running.
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    check_limits();
    std::this_thread::sleep_for(milliseconds(done == 0 ? 10 : 0));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void replace_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  int error_number = errno;
  std::vector<char*> environment;
  for (char** entry = environ; *entry; ++entry)
    environment.push_back(*entry);
  throw SpawnFailed(spawn_failure_message(argv[0], error_number, argument_bytes(args, environment)), error_number);
}

} // namespace launcher::process
