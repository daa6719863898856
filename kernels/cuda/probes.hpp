#pragma once

// One factory per probe; probe_registry() lists them in the order they run.

#include "probe.hpp"

#include <vector>

namespace gpu_probe {

enum class GemmPrecision { bf16, fp16, tf32 };

[[nodiscard]] Probe make_device_info_probe();
[[nodiscard]] Probe make_hbm_bandwidth_probe();
[[nodiscard]] Probe make_host_device_copy_probe();
[[nodiscard]] Probe make_pcie_link_probe();
[[nodiscard]] Probe make_gemm_probe(GemmPrecision precision);
[[nodiscard]] Probe make_nccl_allreduce_probe();

[[nodiscard]] std::vector<Probe> probe_registry();

} // namespace gpu_probe
