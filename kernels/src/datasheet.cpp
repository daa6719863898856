#include "datasheet.hpp"

#include <algorithm>
#include <array>

namespace gpu_probe {
namespace {

// Sources: NVIDIA's product datasheets (H100, H200, A100, L4) and the Ada Lovelace
// architecture whitepaper (RTX 4090: FP16/BF16 with FP32 accumulation).
constexpr std::array known_gpu_table{
    GpuDatasheet{"NVIDIA H100 80GB HBM3", "H100 SXM5 80 GB", 3350.0, 989.4, 989.4, 494.7},
    GpuDatasheet{"NVIDIA H100 PCIe", "H100 PCIe 80 GB", 2000.0, 756.0, 756.0, 378.0},
    GpuDatasheet{"NVIDIA H200", "H200 SXM 141 GB", 4800.0, 989.4, 989.4, 494.7},
    GpuDatasheet{"NVIDIA A100-SXM4-80GB", "A100 SXM4 80 GB", 2039.0, 312.0, 312.0, 156.0},
    GpuDatasheet{"NVIDIA L4", "L4", 300.0, 121.0, 121.0, 60.0},
    GpuDatasheet{"NVIDIA GeForce RTX 4090", "GeForce RTX 4090", 1008.0, 165.2, 165.2, 82.6},
};

} // namespace

std::span<const GpuDatasheet> known_gpus() { return known_gpu_table; }

std::optional<GpuDatasheet> find_datasheet(std::string_view device_name) {
  const auto found = std::ranges::find(known_gpu_table, device_name, &GpuDatasheet::device_name);
  if (found == known_gpu_table.end()) {
    return std::nullopt;
  }
  return *found;
}

} // namespace gpu_probe
