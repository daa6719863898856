#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace launcher::testing {

// Runs child(0) ... child(count - 1) in forked processes released at the same moment through one
// pipe, so they race for whatever they share (a lock, a file, the GPU table). Each child's answer
// comes back on a pipe of its own; a child that throws exits 3 and fails the CHECK of its status.
// The answers, in child order ("" for a child that gave none).
inline std::vector<std::string> race_in_processes(int count, const std::function<std::string(int)>& child) {
  int start[2];
  REQUIRE(pipe(start) == 0);
  std::vector<pid_t> children;
  std::vector<int> answers;
  for (int index = 0; index < count; ++index) {
    int answer[2];
    REQUIRE(pipe(answer) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(start[1]);
      close(answer[0]);
      char go;
      if (read(start[0], &go, 1) != 1) _exit(2);
      std::string text;
      try {
        text = child(index);
      } catch (...) {
        _exit(3);
      }
      _exit(write(answer[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : 4);
    }
    close(answer[1]);
    children.push_back(pid);
    answers.push_back(answer[0]);
  }
  close(start[0]);
  REQUIRE(write(start[1], std::string(static_cast<std::size_t>(count), 'g').data(), count) == count);
  close(start[1]);
  std::vector<std::string> given;
  for (std::size_t i = 0; i < children.size(); ++i) {
    int status = 0;
    waitpid(children[i], &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    std::string text;
    char buffer[64];
    for (ssize_t n; (n = read(answers[i], buffer, sizeof buffer)) > 0;)
      text.append(buffer, static_cast<std::size_t>(n));
    close(answers[i]);
    given.push_back(text);
  }
  return given;
}

} // namespace launcher::testing
