#pragma once
// The launcher run in this process through the real engines, against a recording fake of their
// CLI: the bench of the tests of how each engine spells what a command asks.
#include <string>

#include "command_bench.hpp"
#include "fake_docker.hpp"

namespace launcher::testing {

// The engines themselves run the commands, against a fake of their CLI: for the tests of how an
// engine spells what a command asks (its argv, in order).
struct CliBench : BenchBase {
  FakeDocker docker;

  CliBench() { context.docker_runner = docker.runner(); }

  // The env's container, found by its label.
  void has_container(const std::string& hash, bool running) {
    std::string inspected = json::array({container_of(hash, running)}).dump();
    docker.on({"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env=" + env}, "c0ffee\n");
    docker.on({"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env"}, "c0ffee\n");
    docker.on({"container", "inspect", "c0ffee"}, inspected);
    docker.on({"container", "inspect", env}, inspected);
  }

  void has_no_container() {
    docker.on({"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env=" + env}, "");
  }
};

} // namespace launcher::testing
