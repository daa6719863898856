#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace launcher::process {

// Whether `program` is an executable file in a directory of PATH.
bool on_path(const std::string& program);

struct ProcessResult {
  int exit_code = 0; // 128 + N when killed by signal N
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::string_view input;             // fed to stdin, which is then closed
  std::string working_dir;            // empty: ours
  std::vector<std::string> extra_env; // NAME=VALUE added to our environment
  bool show_output = false;           // the child writes to our stderr (progress) instead of being captured
  // How long the child may run; nullopt: as long as it takes. A bounded child runs in a process
  // group of its own, which is ended as a whole (SIGTERM, then SIGKILL after kill_grace).
  std::optional<std::chrono::milliseconds> timeout;
  // With show_output: the child's output passes through this process to its stderr, and after
  // every stretch this long in which the child printed nothing, on_quiet is told how long it has
  // run, so that a long silent step (pip unpacking gigabytes of wheels) still says it is going.
  std::optional<std::chrono::milliseconds> quiet_after;
  std::function<void(std::chrono::milliseconds running)> on_quiet;
};

// Between SIGTERM and SIGKILL when a child is ended (timeout or interrupt).
inline constexpr std::chrono::milliseconds kill_grace{2000};

// The program could not be started at all; the message names it and says why (not on PATH,
// not executable, argument list too long, no interpreter).
class SpawnFailed : public Error {
public:
  SpawnFailed(const std::string& message, int error_number)
      : Error(ExitCode::failed, message), error_number_(error_number) {}
  int error_number() const { return error_number_; }

private:
  int error_number_;
};

// The child ran past its timeout and was ended. The message names the command and the limit.
class TimedOut : public Error {
public:
  TimedOut(const std::string& command, std::chrono::milliseconds limit);
  const std::string& command() const { return command_; }
  std::chrono::milliseconds limit() const { return limit_; }

private:
  std::string command_;
  std::chrono::milliseconds limit_;
};

// A signal arrived while an InterruptScope was active; the child was ended. Exit code 128 + N.
class Interrupted : public Error {
public:
  Interrupted(int signal, const std::string& message);
  int signal() const { return signal_; }

private:
  int signal_;
};

// While one lives, SIGINT, SIGTERM and HUP only count (no work in the handler), and a signal
// counted since the scope began (or since acknowledge()) is pending: every run_process then ends
// its child (or does not start it) and throws Interrupted, and wait loops ask pending(). Clean-up
// after a signal calls acknowledge() first, so that only a further signal interrupts it. Not
// nested; the previous dispositions come back on destruction.
class InterruptScope {
public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // The signal pending, or 0.
  static int pending();
  // Takes the pending signal as seen: later calls run until another one arrives.
  static void acknowledge();
};

// The last signal counted (0 when none).
int last_interrupt_signal();
// "SIGINT", "SIGTERM", "SIGHUP", or "signal N".
std::string signal_name(int signal);

// The program and its arguments as one line for a message, shell-like, each word cut short.
std::string command_line_for_message(const std::vector<std::string>& argv);

// Why posix_spawnp/execvp failed for `program` with errno `error_number`, naming the program:
// not on PATH (only for ENOENT), argument list too long (with the size), not executable,
// no interpreter. `argument_bytes`: the bytes of arguments and environment passed.
std::string spawn_failure_message(const std::string& program, int error_number, std::size_t argument_bytes);

// Spawns argv directly (posix_spawnp, no shell) and collects its output.
// Throws SpawnFailed when the program cannot be started, TimedOut past options.timeout, and
// Interrupted on a signal pending under an InterruptScope (before the start, too).
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Replaces this process with argv (execvp), for commands that hand the terminal over to
// docker or ssh: signals and exit status then belong to that program. Returns only by throwing.
[[noreturn]] void replace_process(const std::vector<std::string>& argv);

} // namespace launcher::process
