// HBM bandwidth as BabelStream measures it: copy (a = b) and triad (a = b + scalar * c) over
// arrays far larger than L2, each element read or written once, counted without write-allocate.

#include "device_memory.hpp"
#include "metrics.hpp"
#include "probe_report/format.hpp"
#include "probes.hpp"
#include "timing.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace gpu_probe {
namespace {

constexpr std::size_t minimum_array_bytes = std::size_t{1} << 30;
constexpr int array_count = 3; // triad touches three arrays
constexpr int threads_per_block = 256;
constexpr double triad_scalar = 3.0;

// Values exact in double, so the host reference needs no tolerance: any difference is a bug.
__host__ __device__ double first_pattern(std::size_t index) { return static_cast<double>(index % 1024) * 0.5; }

__host__ __device__ double second_pattern(std::size_t index) { return static_cast<double>(index % 512) * 0.25; }

__global__ void fill_patterns(double* first, double* second, std::size_t count) {
  const std::size_t index = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (index < count) {
    first[index] = first_pattern(index);
    second[index] = second_pattern(index);
  }
}

// double2 loads and stores: 16-byte vector accesses, one per thread.
__global__ void copy_vectors(const double2* __restrict__ source, double2* __restrict__ destination, std::size_t count) {
  const std::size_t index = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (index < count) {
    destination[index] = source[index];
  }
}

__global__ void triad_vectors(double2* __restrict__ result, const double2* __restrict__ first,
                              const double2* __restrict__ second, double scalar, std::size_t count) {
  const std::size_t index = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (index < count) {
    const double2 b = first[index];
    const double2 c = second[index];
    result[index] = make_double2(b.x + scalar * c.x, b.y + scalar * c.y);
  }
}

unsigned blocks_for(std::size_t count) {
  return static_cast<unsigned>((count + threads_per_block - 1) / threads_per_block);
}

// At least 1 GiB and at least 4x L2 per array, a whole number of double2 vectors.
std::size_t array_bytes_for(const DeviceInfo& device) {
  const std::size_t bytes = std::max(minimum_array_bytes, 4 * device.l2_cache_bytes);
  return (bytes + sizeof(double2) - 1) / sizeof(double2) * sizeof(double2);
}

template <typename Expected> double count_mismatches(const DeviceArray<double>& array, Expected expected) {
  std::vector<double> host(array.size());
  CUDA_CHECK(cudaMemcpy(host.data(), array.data(), array.bytes(), cudaMemcpyDeviceToHost));
  std::size_t mismatches = 0;
  for (std::size_t index = 0; index < host.size(); ++index) {
    mismatches += host[index] != expected(index) ? 1 : 0;
  }
  return static_cast<double>(mismatches);
}

std::optional<probe_report::Reference> datasheet_bandwidth(const DeviceInfo& device) {
  if (!device.datasheet) {
    return std::nullopt;
  }
  return probe_report::Reference{device.datasheet->memory_gigabytes_per_second,
                                 "datasheet " + std::string(device.datasheet->marketing_name)};
}

probe_report::ProbeReport measure_hbm_bandwidth(const ProbeContext& context) {
  const std::size_t bytes = array_bytes_for(context.device);
  const std::size_t count = bytes / sizeof(double);
  const std::size_t vector_count = bytes / sizeof(double2);
  DeviceArray<double> result(count);
  DeviceArray<double> first(count);
  DeviceArray<double> second(count);
  const auto* first_vectors = reinterpret_cast<const double2*>(first.data());
  const auto* second_vectors = reinterpret_cast<const double2*>(second.data());
  auto* result_vectors = reinterpret_cast<double2*>(result.data());

  auto enqueue_copy = [&] {
    copy_vectors<<<blocks_for(vector_count), threads_per_block>>>(first_vectors, result_vectors, vector_count);
  };
  auto enqueue_triad = [&] {
    triad_vectors<<<blocks_for(vector_count), threads_per_block>>>(result_vectors, first_vectors, second_vectors,
                                                                   triad_scalar, vector_count);
  };

  fill_patterns<<<blocks_for(count), threads_per_block>>>(first.data(), second.data(), count);
  CUDA_CHECK(cudaGetLastError());

  probe_report::ProbeReport report;
  enqueue_copy();
  CUDA_CHECK(cudaGetLastError());
  report.checks.push_back({"copy: elements differing from the host reference",
                           count_mismatches(result, [](std::size_t index) { return first_pattern(index); }), 0.0});
  enqueue_triad();
  CUDA_CHECK(cudaGetLastError());
  report.checks.push_back(
      {"triad: elements differing from the host reference",
       count_mismatches(result,
                        [](std::size_t index) { return first_pattern(index) + triad_scalar * second_pattern(index); }),
       0.0});
  report.facts = {
      {"array bytes", std::to_string(bytes)},
      {"arrays / L2",
       probe_report::format_number(static_cast<double>(bytes) /
                                   static_cast<double>(std::max<std::size_t>(1, context.device.l2_cache_bytes))) +
           "x L2 per array"},
      {"timing", "median of " + std::to_string(context.timed_runs) + " runs after warm-up, CUDA events"},
  };
  if (probe_report::status_from_checks(report.checks) == probe_report::ProbeStatus::failed) {
    return report; // a wrong kernel's speed means nothing
  }

  const double copy_milliseconds = median_milliseconds(context.timed_runs, enqueue_copy);
  const double triad_milliseconds = median_milliseconds(context.timed_runs, enqueue_triad);
  const auto reference = datasheet_bandwidth(context.device);
  report.measurements = {
      {"copy", gigabytes_per_second(2.0 * static_cast<double>(bytes), copy_milliseconds), "GB/s", reference},
      {"triad", gigabytes_per_second(3.0 * static_cast<double>(bytes), triad_milliseconds), "GB/s", reference},
  };
  return report;
}

} // namespace

Probe make_hbm_bandwidth_probe() {
  return {
      .name = "hbm-bandwidth",
      .description = "device memory bandwidth: copy and triad kernels, double2 accesses, arrays >= 4x L2",
      .can_run_here =
          [](const ProbeContext& context) {
            const std::size_t needed = array_count * array_bytes_for(context.device);
            // Leave a quarter of the memory to the context, libraries and other processes.
            return Availability::if_memory_fits(needed, context.device.global_memory_bytes / 4 * 3);
          },
      .run = measure_hbm_bandwidth,
  };
}

} // namespace gpu_probe
