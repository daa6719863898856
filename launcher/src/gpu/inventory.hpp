#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace launcher::facts {
class HostQueries;
}

namespace launcher::gpu {

struct ComputeCapability {
  int major = 0; // 0: nvidia-smi did not say
  int minor = 0;

  std::string sm() const { return "sm_" + std::to_string(major * 10 + minor); }
  std::string dotted() const { return std::to_string(major) + "." + std::to_string(minor); }
};

struct MigDevice {
  int index = 0;       // per GPU, as in "0:1"
  std::string profile; // "1g.10gb"
  std::string uuid;    // "MIG-..."
};

// One row of `nvidia-smi --query-gpu`, plus its MIG devices from `nvidia-smi -L`.
struct Gpu {
  int index = 0;
  std::string uuid;
  std::string name;
  std::string pci_bus_id;
  std::string driver_version;
  std::uint64_t memory_total_mib = 0;
  std::uint64_t memory_used_mib = 0;
  std::uint64_t memory_free_mib = 0;
  ComputeCapability compute_capability;
  bool mig_enabled = false;
  std::vector<MigDevice> mig_devices;
  // Telemetry only shown to people, as nvidia-smi printed it ("[N/A]" on some boards).
  std::string utilization_percent;
  std::string temperature_c;
  std::string power_draw_w;
};

// One row of `nvidia-smi --query-compute-apps`.
struct GpuProcess {
  long pid = 0;
  std::string gpu_uuid;
  std::optional<std::uint64_t> used_mib; // nvidia-smi says [N/A] without the right to see it
};

struct GpuInventory {
  std::string driver_version; // empty: no NVIDIA driver answered
  std::string problem;        // why there is no driver or no GPU list, for messages
  std::vector<Gpu> gpus;
  std::vector<GpuProcess> processes;

  const Gpu* by_uuid(std::string_view uuid) const;
  std::vector<GpuProcess> processes_on(const Gpu& gpu) const;
};

// The version in /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX ... Kernel Module  580.159.04  ...").
std::optional<std::string> parse_proc_driver_version(std::string_view text);

// "DRIVER version : 580.159.04" from `nvidia-smi --version`.
std::optional<std::string> parse_smi_driver_version(std::string_view text);

// `nvidia-smi --query-gpu=<gpu_query_fields> --format=csv,noheader,nounits`; throws Error on a malformed line.
std::vector<Gpu> parse_gpu_table(std::string_view csv);

// Adds the MIG devices `nvidia-smi -L` lists under each GPU.
void add_mig_devices(std::vector<Gpu>& gpus, std::string_view gpu_list);

// `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv` (header and units included).
std::vector<GpuProcess> parse_compute_apps(std::string_view csv);

// Driver, GPUs, MIG devices and GPU processes; never throws for what the host lacks, it says so in `problem`.
GpuInventory read_gpu_inventory(facts::HostQueries& queries);

nlohmann::json to_json(const GpuInventory& inventory);

} // namespace launcher::gpu
