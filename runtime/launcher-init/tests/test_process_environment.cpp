#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <csignal>

#include "process_environment.hpp"

using namespace launcher_init;

TEST_CASE("service environment: container variables pass, launcher settings and tokens do not") {
  Environment inherited{
      {"PATH", "/opt/conda/bin:/usr/bin"}, {"NVIDIA_VISIBLE_DEVICES", "all"},    {"LAUNCHER_UID", "1000"},
      {"JUPYTER_TOKEN", "from-docker-e"},  {"JUPYTER_TOKEN_FILE", "/elsewhere"}, {"HOME", "/root"}};
  Account alice{"alice", 1000, 1000, "/home/alice", "/bin/bash"};
  auto environment = service_environment(inherited, alice, {{"JUPYTER_TOKEN_FILE", "/run/launcher/jupyter/token"}});
  CHECK(environment == std::vector<std::string>{"HOME=/home/alice", "JUPYTER_TOKEN_FILE=/run/launcher/jupyter/token",
                                                "LOGNAME=alice", "NVIDIA_VISIBLE_DEVICES=all",
                                                "PATH=/opt/conda/bin:/usr/bin", "SHELL=/bin/bash", "USER=alice"});
}

TEST_CASE("wait status: exit codes and signals as a shell reports them") {
  CHECK(exit_status_of(3 << 8) == 3);
  CHECK(exit_status_of(SIGKILL) == 137);
  CHECK(describe_wait_status(3 << 8) == "exit status 3");
  CHECK(describe_wait_status(SIGKILL) == "signal 9 (Killed)");
}
