#pragma once

// Owning handles for device and pinned host allocations, so an error thrown mid-probe
// (CUDA_CHECK) frees what the probe allocated.

#include "cuda_check.hpp"

#include <cstddef>
#include <cuda_runtime_api.h>

namespace gpu_probe {

template <typename Element> class DeviceArray {
public:
  explicit DeviceArray(std::size_t count) : count_(count) { CUDA_CHECK(cudaMalloc(&data_, bytes())); }
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  [[nodiscard]] Element* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return count_; }
  [[nodiscard]] std::size_t bytes() const { return count_ * sizeof(Element); }

private:
  Element* data_ = nullptr;
  std::size_t count_ = 0;
};

class PinnedHostBuffer {
public:
  explicit PinnedHostBuffer(std::size_t bytes) : bytes_(bytes) { CUDA_CHECK(cudaMallocHost(&data_, bytes)); }
  ~PinnedHostBuffer() { cudaFreeHost(data_); }
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;

  [[nodiscard]] std::byte* data() const { return static_cast<std::byte*>(data_); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

} // namespace gpu_probe
