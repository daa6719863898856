#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>

#include "e2e_support.hpp"

using namespace e2e;

namespace {

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

} // namespace

TEST_CASE("supervision: a killed service is restarted, SIGTERM stops everything within the timeout") {
  if (!prerequisites_met({"sshd", "cp"})) return;
  Sandbox sandbox("ssh");
  auto launcher = sandbox.start();
  REQUIRE(wait_until([&] { return port_accepts(sandbox.ssh_port); }, 60s));
  auto first = child_named(launcher->pid(), "sshd");
  REQUIRE(first);

  ::kill(*first, SIGKILL);
  auto killed_at = std::chrono::steady_clock::now();
  std::optional<pid_t> second;
  REQUIRE(wait_until([&] { return (second = child_named(launcher->pid(), "sshd")) && *second != *first; }, 60s));
  REQUIRE(wait_until([&] { return port_accepts(sandbox.ssh_port); }, 60s));
  WARN("sshd back " << since(killed_at).count() << " ms after SIGKILL");
  CHECK(launcher->output().find("launcher-init: ssh exited (signal 9 (Killed))") != std::string::npos);

  auto stop_at = std::chrono::steady_clock::now();
  ::kill(launcher->pid(), SIGTERM);
  // Exit status 0: every service stopped before the stop timeout (past it, launcher-init kills and fails).
  CHECK(launcher->wait_for_exit(60s) == 0);
  WARN("SIGTERM to exit: " << since(stop_at).count() << " ms (timeout 5 s)");
  CHECK(children_of(launcher->pid()).empty());
  CHECK_FALSE(port_accepts(sandbox.ssh_port));
}

TEST_CASE("supervision: orphans are reaped, and the command's exit status is launcher-init's") {
  if (!prerequisites_met({"sh", "sleep", "cp"})) return;
  Sandbox sandbox("command");
  // The inner shell exits at once, so its `sleep 1` is re-parented to PID 1 and exits later.
  auto launcher = sandbox.start({"sh", "-c", "id -u; sh -c 'sleep 1 &'; sleep 3; exit 7"});
  std::optional<pid_t> orphan;
  REQUIRE(wait_until(
      [&] {
        for (const auto& child : children_of(launcher->pid())) {
          if (child.name == "sleep") orphan = child.pid;
        }
        return orphan.has_value();
      },
      60s));
  // Reaped: gone from PID 1's children, not left as a zombie.
  CHECK(wait_until(
      [&] {
        auto children = children_of(launcher->pid());
        return std::none_of(children.begin(), children.end(),
                            [&](const ProcessInfo& child) { return child.pid == *orphan; });
      },
      60s));
  for (const auto& child : children_of(launcher->pid()))
    CHECK(child.state != 'Z');
  CHECK(launcher->wait_for_exit(60s) == 7);
  CHECK(launcher->output().find(std::to_string(sandbox.user.uid) + "\n") != std::string::npos);
}

TEST_CASE("supervision: a program that ignores SIGTERM is killed after the timeout") {
  if (!prerequisites_met({"sh", "sleep", "cp"})) return;
  Sandbox sandbox("command");
  // Not `= "1"`: GCC 12 warns falsely (-Wrestrict) about assigning that literal.
  sandbox.settings.insert_or_assign("LAUNCHER_STOP_TIMEOUT", std::string(1, '1'));
  auto launcher = sandbox.start({"sh", "-c", "trap '' TERM; echo ready; sleep 30"});
  REQUIRE(wait_until([&] { return launcher->output().find("ready") != std::string::npos; }, 60s));
  auto stop_at = std::chrono::steady_clock::now();
  ::kill(launcher->pid(), SIGTERM);
  CHECK(launcher->wait_for_exit(60s) == 128 + SIGKILL);
  CHECK(since(stop_at) >= 900ms);
  CHECK(launcher->output().find(
            "launcher-init: failed to stop in time: command: still running 1s after the stop signal") !=
        std::string::npos);
}
