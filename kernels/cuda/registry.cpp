#include "probes.hpp"

#include "probe_report/format.hpp"

#include <string>

namespace gpu_probe {
namespace {

std::string gibibytes(std::size_t bytes) {
  return probe_report::format_number(static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0)) + " GiB";
}

} // namespace

Probe make_device_info_probe() {
  return {
      .name = "device-info",
      .description = "what the CUDA runtime reports about the device, and its datasheet entry",
      .can_run_here = [](const ProbeContext&) { return Availability::yes(); },
      .run =
          [](const ProbeContext& context) {
            const DeviceInfo& device = context.device;
            probe_report::ProbeReport report;
            report.facts = {
                {"name", device.name},
                {"compute capability", std::to_string(device.compute_capability_major) + "." +
                                           std::to_string(device.compute_capability_minor)},
                {"multiprocessors", std::to_string(device.multiprocessor_count)},
                {"memory", gibibytes(device.global_memory_bytes)},
                {"memory bus width", std::to_string(device.memory_bus_width_bits) + " bit"},
                {"L2 cache", probe_report::format_number(static_cast<double>(device.l2_cache_bytes) / 1e6) + " MB"},
                {"PCI bus id", device.pci_bus_id},
                {"visible devices", std::to_string(device.visible_device_count)},
                {"datasheet", device.datasheet ? std::string(device.datasheet->marketing_name)
                                               : "not in gpu-probe's table: figures are absolute only"},
            };
            return report;
          },
  };
}

std::vector<Probe> probe_registry() {
  return {
      make_device_info_probe(),
      make_hbm_bandwidth_probe(),
      make_host_device_copy_probe(),
      make_pcie_link_probe(),
      make_gemm_probe(GemmPrecision::bf16),
      make_gemm_probe(GemmPrecision::fp16),
      make_gemm_probe(GemmPrecision::tf32),
      make_nccl_allreduce_probe(),
  };
}

} // namespace gpu_probe
