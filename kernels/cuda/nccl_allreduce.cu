// NCCL all-reduce (sum, float) over every visible GPU from one process, reported as
// nccl-tests reports it: algorithm bandwidth = bytes / time, bus bandwidth = algorithm
// bandwidth * 2(n-1)/n. With one GPU the single-rank case is measured; its bus bandwidth is 0.

#include "device_memory.hpp"
#include "metrics.hpp"
#include "probes.hpp"

#include <nccl.h>

#include <chrono>
#include <memory>
#include <numeric>
#include <vector>

namespace gpu_probe {

inline void check_status(ncclResult_t status, const char* expression, const char* file, int line) {
  if (status != ncclSuccess) {
    throw_cuda_error(expression, ncclGetErrorString(status), file, line);
  }
}

namespace {

constexpr std::size_t elements_per_rank = std::size_t{64} << 20; // 256 MiB of float
constexpr int threads_per_block = 256;
constexpr int warm_up_runs = 3;

// Rank r contributes r + 1 + (i % 7): the sum over n ranks is n(n+1)/2 + n(i % 7), exact in float.
__global__ void fill_contribution(float* values, std::size_t count, int rank) {
  const std::size_t index = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (index < count) {
    values[index] = static_cast<float>(rank + 1 + static_cast<int>(index % 7));
  }
}

struct Rank {
  int device = 0;
  std::unique_ptr<DeviceArray<float>> send;
  std::unique_ptr<DeviceArray<float>> receive;
  cudaStream_t stream = nullptr;
  ncclComm_t communicator = nullptr;

  Rank() = default;
  Rank(const Rank&) = delete;
  Rank& operator=(const Rank&) = delete;
  ~Rank() {
    if (communicator != nullptr) {
      ncclCommDestroy(communicator);
    }
    if (stream != nullptr) {
      cudaStreamDestroy(stream);
    }
  }
};

void enqueue_allreduce(std::vector<std::unique_ptr<Rank>>& ranks) {
  CUDA_CHECK(ncclGroupStart());
  for (const auto& rank : ranks) {
    CUDA_CHECK(ncclAllReduce(rank->send->data(), rank->receive->data(), elements_per_rank, ncclFloat, ncclSum,
                             rank->communicator, rank->stream));
  }
  CUDA_CHECK(ncclGroupEnd());
}

void synchronize(std::vector<std::unique_ptr<Rank>>& ranks) {
  for (const auto& rank : ranks) {
    CUDA_CHECK(cudaSetDevice(rank->device));
    CUDA_CHECK(cudaStreamSynchronize(rank->stream));
  }
}

double count_wrong_sums(const std::vector<std::unique_ptr<Rank>>& ranks) {
  const auto rank_count = static_cast<double>(ranks.size());
  std::vector<float> received(elements_per_rank);
  std::size_t mismatches = 0;
  for (const auto& rank : ranks) {
    CUDA_CHECK(cudaSetDevice(rank->device));
    CUDA_CHECK(cudaMemcpy(received.data(), rank->receive->data(), rank->receive->bytes(), cudaMemcpyDeviceToHost));
    for (std::size_t index = 0; index < received.size(); ++index) {
      const double expected = rank_count * (rank_count + 1) / 2 + rank_count * static_cast<double>(index % 7);
      mismatches += static_cast<double>(received[index]) != expected ? 1 : 0;
    }
  }
  return static_cast<double>(mismatches);
}

probe_report::ProbeReport measure_allreduce(const ProbeContext& context) {
  const int rank_count = context.device.visible_device_count;
  std::vector<int> devices(static_cast<std::size_t>(rank_count));
  std::iota(devices.begin(), devices.end(), 0);
  std::vector<ncclComm_t> communicators(devices.size());
  CUDA_CHECK(ncclCommInitAll(communicators.data(), rank_count, devices.data()));

  std::vector<std::unique_ptr<Rank>> ranks;
  for (const int device : devices) {
    auto rank = std::make_unique<Rank>();
    rank->device = device;
    rank->communicator = communicators[static_cast<std::size_t>(device)];
    CUDA_CHECK(cudaSetDevice(device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&rank->stream, cudaStreamNonBlocking));
    rank->send = std::make_unique<DeviceArray<float>>(elements_per_rank);
    rank->receive = std::make_unique<DeviceArray<float>>(elements_per_rank);
    fill_contribution<<<static_cast<unsigned>((elements_per_rank + threads_per_block - 1) / threads_per_block),
                        threads_per_block, 0, rank->stream>>>(rank->send->data(), elements_per_rank, device);
    CUDA_CHECK(cudaGetLastError());
    ranks.push_back(std::move(rank));
  }
  synchronize(ranks);

  int nccl_version = 0;
  CUDA_CHECK(ncclGetVersion(&nccl_version));
  probe_report::ProbeReport report;
  report.facts = {
      {"NCCL", std::to_string(nccl_version / 10000) + "." + std::to_string(nccl_version / 100 % 100) + "." +
                   std::to_string(nccl_version % 100)},
      {"ranks", std::to_string(rank_count) + (rank_count == 1 ? " (single rank: no data crosses a link)" : "")},
      {"bytes per rank", std::to_string(elements_per_rank * sizeof(float))},
      {"timing", "median of " + std::to_string(context.timed_runs) + " runs, host clock around all streams"},
  };
  enqueue_allreduce(ranks);
  synchronize(ranks);
  report.checks.push_back({"elements differing from the expected sum", count_wrong_sums(ranks), 0.0});
  if (probe_report::status_from_checks(report.checks) == probe_report::ProbeStatus::failed) {
    return report;
  }

  // Streams on several devices share no CUDA event clock, so each run is timed on the host
  // from enqueue to the last stream's completion, as nccl-tests does.
  for (int run = 0; run < warm_up_runs; ++run) {
    enqueue_allreduce(ranks);
  }
  synchronize(ranks);
  std::vector<double> samples;
  for (int run = 0; run < context.timed_runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    enqueue_allreduce(ranks);
    synchronize(ranks);
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  const double algorithm_bandwidth =
      gigabytes_per_second(static_cast<double>(elements_per_rank * sizeof(float)), median(std::move(samples)));
  report.measurements = {
      {"algorithm bandwidth", algorithm_bandwidth, "GB/s", std::nullopt},
      {"bus bandwidth", allreduce_bus_bandwidth(algorithm_bandwidth, rank_count), "GB/s", std::nullopt},
  };
  CUDA_CHECK(cudaSetDevice(context.device.index));
  return report;
}

} // namespace

Probe make_nccl_allreduce_probe() {
  return {
      .name = "nccl-allreduce",
      .description = "NCCL all-reduce over all visible GPUs, 256 MiB per rank, nccl-tests bus bandwidth",
      .can_run_here =
          [](const ProbeContext& context) {
            const std::size_t needed = 2 * elements_per_rank * sizeof(float);
            return Availability::if_memory_fits(needed, context.device.global_memory_bytes / 2, " per GPU");
          },
      .run = measure_allreduce,
  };
}

} // namespace gpu_probe
