#pragma once

// Arithmetic that turns timings into figures and results into pass/fail, kept free of CUDA so
// it is unit-tested on any machine.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gpu_probe {

// Median of the samples (mean of the middle two for an even count); throws on no samples.
[[nodiscard]] double median(std::vector<double> samples);

// Decimal units, as datasheets use: 10^9 bytes per second.
[[nodiscard]] double gigabytes_per_second(double bytes, double milliseconds);

// 2*m*n*k floating-point operations, in 10^12 per second.
[[nodiscard]] double gemm_teraflops(std::int64_t m, std::int64_t n, std::int64_t k, double milliseconds);

// nccl-tests' bus bandwidth of an all-reduce: algorithm bandwidth * 2(n-1)/n. One rank moves
// nothing over a link, so its bus bandwidth is 0.
[[nodiscard]] double allreduce_bus_bandwidth(double algorithm_gigabytes_per_second, int ranks);

// Theoretical payload rate of one direction of a PCIe link after line encoding
// (8b/10b to Gen2, 128b/130b for Gen3 to Gen5, FLIT mode for Gen6); nullopt for an unknown generation.
[[nodiscard]] std::optional<double> pcie_gigabytes_per_second(int generation, int lanes);

// ||observed - expected||_2 / ||expected||_2 over all elements; throws when the sizes differ
// or the expected values are all zero.
[[nodiscard]] double relative_frobenius_error(std::span<const double> observed, std::span<const double> expected);

} // namespace gpu_probe
