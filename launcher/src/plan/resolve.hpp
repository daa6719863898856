#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/host_facts.hpp"
#include "plan/plan.hpp"
#include "profile/origin.hpp"
#include "profile/trust.hpp"

namespace launcher::plan {

// A GPU the plan takes, and what the host says sits next to it.
struct PlacedGpu {
  std::string device;      // as Docker's --gpus "device=..." takes it
  std::string description; // for people: "GPU 4 (00000000:41:00.0)"
  std::string cpus;        // the CPUs of its NUMA node(s), a CPU list; empty: the host does not say
  std::string numa_nodes;  // those node(s); empty: the host does not say
};

// The GPUs as resolution needs them, so that every reader of the plan (render, --dry-run, the
// checks, the hash, the label, docker run) sees the devices `up` runs with. `up`'s records the
// choice in the host-wide GPU table; render's and --dry-run's only tell what it would be.
class GpuHost {
public:
  virtual ~GpuHost() = default;
  // Devices the profile names: checked against the host (an Error, exit 3, lists what it has).
  virtual std::vector<PlacedGpu> claim(const std::string& env, const std::vector<std::string>& devices) = 0;
  // {"count": N}: the GPUs this env gets, its own first, then free ones.
  virtual std::vector<PlacedGpu> choose(const std::string& env, int count) = 0;
  // Where the CPU and NUMA affinity come from ("nvidia-smi topo -m"), or why it is unknown.
  virtual std::string topology_source() = 0;
};

struct Resolution {
  Plan plan;
  profile::Sourced profile; // the fields as merged over the defaults, with their origins
  // What the plan gives away that the user may not know, one line each (no "launcher: warning: "):
  // an env user that is root because the launcher runs as root. `up` and `render` print them.
  std::vector<std::string> warnings;
  // The team file used, and whether what it widens is approved (set by the command's request).
  std::optional<profile::TeamFileTrust> team_file;
};

// The defaults every GPU user needs, some sized from the host: a memory limit that leaves the
// host room (default_memory_limit), a /dev/shm of half that limit (Docker's 64 MB kills
// DataLoader workers), equal CPU shares, unlimited memlock, a 64 MiB stack, every GPU when there
// are any, the invoking user's ids.
profile::Sourced host_defaults(const host::HostFacts& host);

// An environment's memory limit unless its profile says otherwise: the host's memory less a
// reserve for the host (the larger of 10 % and 2 GiB), but never below half the host's memory.
std::uint64_t default_memory_limit(std::uint64_t host_memory);

// The default environment name: "<directory>-<profile>" when that is the directory's name as it is
// and fits max_env_name_length; otherwise "<directory as far as it renders>-<8 hex digits of
// SHA-256 of its absolute path>-<profile>", so two directories never share a name ("a b" and
// "a:b", or two names of only non-ASCII letters, or two long names with a common start).
std::string default_env_name(const std::filesystem::path& cwd, const std::string& profile_name);

// Decides everything the profile left open and checks what needs the whole picture: host
// paths exist, host ports are not published twice, dangerous requests are opted into,
// the host has the GPUs asked for. Named and counted GPUs are placed through `gpus`. Throws
// Error naming the origin of the culprit.
Resolution resolve_plan(const std::string& profile_name, const profile::Sourced& profile, const host::HostFacts& host,
                        const host::PathProbe& paths, GpuHost& gpus);

} // namespace launcher::plan
