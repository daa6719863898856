#pragma once

#include <optional>
#include <string>

namespace gpu_probe {

struct PcieLink {
  int current_generation = 0;
  int current_width = 0;
  int max_generation = 0; // the most this device and this host's slot can train to
  int max_width = 0;
};

struct PcieLinkQuery {
  std::optional<PcieLink> link;
  std::string error; // why the link could not be read, when it could not
};

// Reads the device's PCIe link through NVML. NVML is loaded at run time from the driver's
// libnvidia-ml.so.1: it belongs to the driver, not to the CUDA toolkit, so gpu-probe builds
// where the toolkit lacks nvml.h and still starts where the driver library is missing.
[[nodiscard]] PcieLinkQuery query_pcie_link(const std::string& pci_bus_id);

} // namespace gpu_probe

namespace gpu_probe {

// "PCIe Gen5 x16"
[[nodiscard]] std::string describe_pcie_link(int generation, int width);

} // namespace gpu_probe
