#include "device.hpp"

#include "cuda_check.hpp"
#include "options.hpp"

#include <array>

namespace gpu_probe {
namespace {

std::string version_text(int encoded_version) {
  // CUDA encodes versions as 1000 * major + 10 * minor.
  return std::to_string(encoded_version / 1000) + "." + std::to_string(encoded_version % 1000 / 10);
}

} // namespace

std::optional<std::string> why_no_gpu() {
  int device_count = 0;
  const cudaError_t status = cudaGetDeviceCount(&device_count);
  if (status != cudaSuccess) {
    return std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
  }
  if (device_count == 0) {
    return "the CUDA driver reports no device";
  }
  return std::nullopt;
}

DeviceInfo query_device(int index) {
  int device_count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&device_count));
  if (index >= device_count) {
    throw UsageError("--device " + std::to_string(index) + ": only " + std::to_string(device_count) +
                     " device(s) visible");
  }
  CUDA_CHECK(cudaSetDevice(index));
  cudaDeviceProp properties{};
  CUDA_CHECK(cudaGetDeviceProperties(&properties, index));
  std::array<char, 32> pci_bus_id{};
  CUDA_CHECK(cudaDeviceGetPCIBusId(pci_bus_id.data(), static_cast<int>(pci_bus_id.size()), index));

  DeviceInfo device;
  device.index = index;
  device.visible_device_count = device_count;
  device.name = properties.name;
  device.compute_capability_major = properties.major;
  device.compute_capability_minor = properties.minor;
  device.multiprocessor_count = properties.multiProcessorCount;
  device.global_memory_bytes = properties.totalGlobalMem;
  device.l2_cache_bytes = static_cast<std::size_t>(properties.l2CacheSize);
  device.memory_bus_width_bits = properties.memoryBusWidth;
  device.pci_bus_id = pci_bus_id.data();
  device.datasheet = find_datasheet(device.name);
  return device;
}

std::vector<probe_report::Fact> cuda_version_facts() {
  int runtime_version = 0;
  int driver_version = 0;
  const bool runtime_known = cudaRuntimeGetVersion(&runtime_version) == cudaSuccess;
  // cudaDriverGetVersion reports 0 when no driver is installed.
  const bool driver_known = cudaDriverGetVersion(&driver_version) == cudaSuccess && driver_version > 0;
  return {
      {"CUDA runtime", runtime_known ? version_text(runtime_version) : "unknown"},
      {"CUDA driver API", driver_known ? version_text(driver_version) : "no driver found"},
  };
}

} // namespace gpu_probe
