#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/cpu_list.hpp"

namespace launcher::facts {
class HostQueries;
}

namespace launcher::gpu {

// The CPUs and NUMA nodes next to one GPU; nullopt where the host says N/A.
struct GpuAffinity {
  std::optional<CpuList> cpus;
  std::optional<CpuList> numa_nodes;

  bool operator==(const GpuAffinity&) const = default;
};

// `nvidia-smi topo -m`: the "CPU Affinity" and "NUMA Affinity" columns of each GPU row, by GPU
// index. The header is underlined with terminal escapes and rows may carry empty cells, so cells
// are counted by the header's names. Throws Error when the table has no such columns or a value
// is not a CPU list.
std::map<int, GpuAffinity> parse_topology_matrix(std::string_view text);

// What the host says about where its GPUs sit, or why it says nothing.
struct GpuTopology {
  std::map<int, GpuAffinity> affinity; // by GPU index
  std::string problem;                 // empty when `nvidia-smi topo -m` answered a readable table
};

// Asks `nvidia-smi topo -m`; never throws for what the host lacks, it says so in `problem`.
GpuTopology read_gpu_topology(facts::HostQueries& queries);

} // namespace launcher::gpu
