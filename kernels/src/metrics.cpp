#include "metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace gpu_probe {

double median(std::vector<double> samples) {
  if (samples.empty()) {
    throw std::invalid_argument("median of no samples");
  }
  const auto middle = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::ranges::nth_element(samples, middle);
  if (samples.size() % 2 == 1) {
    return *middle;
  }
  const double lower = *std::max_element(samples.begin(), middle);
  return (lower + *middle) / 2.0;
}

double gigabytes_per_second(double bytes, double milliseconds) { return bytes / (milliseconds * 1e-3) / 1e9; }

double gemm_teraflops(std::int64_t m, std::int64_t n, std::int64_t k, double milliseconds) {
  const double operations = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  return operations / (milliseconds * 1e-3) / 1e12;
}

double allreduce_bus_bandwidth(double algorithm_gigabytes_per_second, int ranks) {
  if (ranks < 1) {
    throw std::invalid_argument("an all-reduce needs at least one rank");
  }
  return algorithm_gigabytes_per_second * 2.0 * (ranks - 1) / ranks;
}

std::optional<double> pcie_gigabytes_per_second(int generation, int lanes) {
  // Per lane, per direction: transfer rate (GT/s) times encoding efficiency, over 8 bits.
  struct Signalling {
    double transfers_per_second; // GT/s
    double payload_bits;         // of each encoded block
    double block_bits;
  };
  // PCIe 1.0 to 6.0: 8b/10b, then 128b/130b, then FLIT mode's 242B/256B.
  constexpr std::array<Signalling, 6> generations{{{2.5, 8.0, 10.0},
                                                   {5.0, 8.0, 10.0},
                                                   {8.0, 128.0, 130.0},
                                                   {16.0, 128.0, 130.0},
                                                   {32.0, 128.0, 130.0},
                                                   {64.0, 242.0, 256.0}}};
  if (generation < 1 || generation > static_cast<int>(generations.size())) {
    return std::nullopt;
  }
  const Signalling& link = generations[static_cast<std::size_t>(generation - 1)];
  const double lane_gigabytes = link.transfers_per_second * link.payload_bits / link.block_bits / 8.0;
  if (lanes < 1) {
    return std::nullopt;
  }
  return lane_gigabytes * lanes;
}

double relative_frobenius_error(std::span<const double> observed, std::span<const double> expected) {
  if (observed.size() != expected.size()) {
    throw std::invalid_argument("relative error of arrays of different sizes");
  }
  double difference_squared = 0.0;
  double expected_squared = 0.0;
  for (std::size_t index = 0; index < expected.size(); ++index) {
    const double difference = observed[index] - expected[index];
    difference_squared += difference * difference;
    expected_squared += expected[index] * expected[index];
  }
  if (expected_squared == 0.0) {
    throw std::invalid_argument("relative error against an all-zero reference");
  }
  return std::sqrt(difference_squared / expected_squared);
}

} // namespace gpu_probe
