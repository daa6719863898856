#include "process/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

extern char** environ;

namespace launcher::process {

namespace {

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

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  std::string_view input = options.input;
  Pipe in, out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, options.show_output ? STDERR_FILENO : out.write_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, options.show_output ? STDERR_FILENO : err.write_end, STDERR_FILENO);
  if (!options.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());

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
  int spawn_error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environment.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0)
    throw Error(ExitCode::failed,
                "failed to run " + argv[0] + ": " +
                    (spawn_error == ENOENT ? std::string("not found on PATH") : std::strerror(spawn_error)));
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

  ProcessResult result;
  char buffer[65536];
  while (out.read_end >= 0 || err.read_end >= 0) {
    pollfd fds[3] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}, {in.write_end, POLLOUT, 0}};
    if (poll(fds, 3, -1) < 0) {
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
      if (n > 0)
        (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR)
        pipe.close_read();
    }
  }
  in.close_write();

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

void replace_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  throw Error(ExitCode::failed, "failed to run " + argv[0] + ": " +
                                    (errno == ENOENT ? std::string("not found on PATH") : std::strerror(errno)));
}

} // namespace launcher::process
