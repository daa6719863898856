#include "nvml.hpp"

#include <dlfcn.h>

namespace gpu_probe {
namespace {

// The few NVML entry points used, declared as nvml.h declares them (stable C ABI, versioned
// symbol names), because the toolkit used to build may not ship nvml.h.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn nvml_success = 0;

struct NvmlLibrary {
  NvmlReturn (*init)() = nullptr;
  const char* (*error_string)(NvmlReturn) = nullptr;
  NvmlReturn (*device_by_pci_bus_id)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*current_link_generation)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*current_link_width)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*max_link_generation)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*max_link_width)(NvmlDevice, unsigned*) = nullptr;
  std::string load_error;
};

template <typename Function> bool resolve(void* library, const char* symbol, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, symbol));
  return function != nullptr;
}

// Loaded and initialised once per process; NVML is left initialised until exit.
const NvmlLibrary& nvml() {
  static const NvmlLibrary library = [] {
    NvmlLibrary loaded;
    void* handle = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      loaded.load_error = std::string("cannot load NVML: ") + dlerror();
      return loaded;
    }
    const bool complete = resolve(handle, "nvmlInit_v2", loaded.init) &&
                          resolve(handle, "nvmlErrorString", loaded.error_string) &&
                          resolve(handle, "nvmlDeviceGetHandleByPciBusId_v2", loaded.device_by_pci_bus_id) &&
                          resolve(handle, "nvmlDeviceGetCurrPcieLinkGeneration", loaded.current_link_generation) &&
                          resolve(handle, "nvmlDeviceGetCurrPcieLinkWidth", loaded.current_link_width) &&
                          resolve(handle, "nvmlDeviceGetMaxPcieLinkGeneration", loaded.max_link_generation) &&
                          resolve(handle, "nvmlDeviceGetMaxPcieLinkWidth", loaded.max_link_width);
    if (!complete) {
      loaded.load_error = "libnvidia-ml.so.1 lacks an expected NVML function";
      return loaded;
    }
    if (const NvmlReturn status = loaded.init(); status != nvml_success) {
      loaded.load_error = std::string("nvmlInit_v2 failed: ") + loaded.error_string(status);
    }
    return loaded;
  }();
  return library;
}

} // namespace

PcieLinkQuery query_pcie_link(const std::string& pci_bus_id) {
  const NvmlLibrary& library = nvml();
  if (!library.load_error.empty()) {
    return {std::nullopt, library.load_error};
  }
  NvmlDevice device = nullptr;
  unsigned current_generation = 0;
  unsigned current_width = 0;
  unsigned max_generation = 0;
  unsigned max_width = 0;
  if (const NvmlReturn status = library.device_by_pci_bus_id(pci_bus_id.c_str(), &device); status != nvml_success) {
    return {std::nullopt, std::string("nvmlDeviceGetHandleByPciBusId_v2 failed: ") + library.error_string(status)};
  }
  const std::pair<NvmlReturn, const char*> link_calls[] = {
      {library.current_link_generation(device, &current_generation), "nvmlDeviceGetCurrPcieLinkGeneration"},
      {library.current_link_width(device, &current_width), "nvmlDeviceGetCurrPcieLinkWidth"},
      {library.max_link_generation(device, &max_generation), "nvmlDeviceGetMaxPcieLinkGeneration"},
      {library.max_link_width(device, &max_width), "nvmlDeviceGetMaxPcieLinkWidth"},
  };
  for (const auto& [status, call] : link_calls) {
    if (status != nvml_success) {
      return {std::nullopt, std::string(call) + " failed: " + library.error_string(status)};
    }
  }
  return {PcieLink{static_cast<int>(current_generation), static_cast<int>(current_width),
                   static_cast<int>(max_generation), static_cast<int>(max_width)},
          ""};
}

} // namespace gpu_probe

namespace gpu_probe {

std::string describe_pcie_link(int generation, int width) {
  return "PCIe Gen" + std::to_string(generation) + " x" + std::to_string(width);
}

} // namespace gpu_probe
