#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace launcher {

// The kernel's list syntax for CPUs and NUMA nodes ("0-15,32-47", sysfs cpulist, cpuset.cpus,
// `nvidia-smi topo -m`), which Docker's --cpuset-cpus and --cpuset-mems take too.
using CpuList = std::set<int>;

// nullopt when it does not parse: empty entries, a range whose end is below its start, numbers
// above 65535 (no kernel has that many CPUs or nodes).
std::optional<CpuList> parse_cpu_list(std::string_view text);

// The shortest form: runs of two or more as ranges, "0-3,8".
std::string format_cpu_list(const CpuList& list);

} // namespace launcher
