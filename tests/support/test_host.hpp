#pragma once

// A fixed host for the unit tests and the fuzz targets: results must not depend on the machine
// the tests run on. No Catch2 here, so that the fuzz targets can use it.

#include <string>
#include <vector>

#include "host/host_facts.hpp"
#include "plan/resolve.hpp"

namespace launcher::testing {

inline host::HostFacts test_host(int gpus = 0) {
  host::HostFacts host;
  host.user_name = "alice";
  host.uid = 1000;
  host.gid = 1000;
  host.home = "/home/alice";
  host.state_home = "/home/alice/.local/state";
  host.cwd = "/home/alice/project";
  host.memory_bytes = 64ULL << 30;
  host.gpu_count = gpus;
  host.online_cpus = "0-31";
  host.numa_nodes = "0-1";
  return host;
}

// GPUs 0..N-1 of a two-socket host: the first half on NUMA node 0 (CPUs 0-15), the rest on
// node 1 (CPUs 16-31). {"count": N} takes the GPUs after those in `taken`; named ones are
// passed through as given (their placement is the host's business, tested in gpu/placement).
struct FakeGpus : plan::GpuHost {
  int count = 0;
  int taken = 0;
  bool topology_known = true;

  explicit FakeGpus(int gpus = 0) : count(gpus) {}

  plan::PlacedGpu at(int index, const std::string& device) const {
    bool second = index >= count / 2 && count > 1;
    if (!topology_known) return {device, "GPU " + std::to_string(index), "", ""};
    return {device, "GPU " + std::to_string(index), second ? "16-31" : "0-15", second ? "1" : "0"};
  }
  std::vector<plan::PlacedGpu> claim(const std::string&, const std::vector<std::string>& devices) override {
    std::vector<plan::PlacedGpu> placed;
    for (const auto& device : devices)
      placed.push_back(at(std::atoi(device.c_str()), device));
    return placed;
  }
  std::vector<plan::PlacedGpu> choose(const std::string&, int wanted) override {
    std::vector<plan::PlacedGpu> placed;
    for (int index = taken; index < taken + wanted; ++index)
      placed.push_back(at(index, std::to_string(index)));
    return placed;
  }
  std::string topology_source() override { return topology_known ? "fake topology" : "no topology here"; }
};

} // namespace launcher::testing
