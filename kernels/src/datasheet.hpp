#pragma once

// Vendor datasheet figures of the GPUs we know, so a measurement can be read as a share of
// what the part is sold as. Compute figures are dense (no 2:4 sparsity), tensor cores,
// FP32 accumulation, in units of 10^12 FLOP/s; bandwidth in 10^9 bytes/s.

#include <optional>
#include <span>
#include <string_view>

namespace gpu_probe {

struct GpuDatasheet {
  std::string_view device_name; // exactly as cudaGetDeviceProperties reports it
  std::string_view marketing_name;
  double memory_gigabytes_per_second;
  double dense_bf16_teraflops;
  double dense_fp16_teraflops;
  double dense_tf32_teraflops;
};

[[nodiscard]] std::span<const GpuDatasheet> known_gpus();

// Exact name match: "NVIDIA H200" and "NVIDIA H200 NVL" are different parts.
[[nodiscard]] std::optional<GpuDatasheet> find_datasheet(std::string_view device_name);

} // namespace gpu_probe
