#include "gpu/inventory.hpp"

#include <regex>

#include "core/error.hpp"
#include "core/text.hpp"
#include "doctor/facts.hpp"

namespace launcher::gpu {

namespace {

std::string trim(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  std::size_t last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  for (const auto& line : split(text, '\n'))
    if (!trim(line).empty()) lines.push_back(line);
  return lines;
}

std::uint64_t number_or_zero(const std::string& text) {
  static const std::regex digits("[0-9]+");
  std::smatch match;
  return std::regex_search(text, match, digits) ? std::stoull(match.str()) : 0;
}

ComputeCapability parse_compute_capability(const std::string& text) {
  static const std::regex dotted("([0-9]+)\\.([0-9]+)");
  std::smatch match;
  if (!std::regex_match(text, match, dotted)) return {};
  return {std::stoi(match[1]), std::stoi(match[2])};
}

// The first line of a failed command's message, for a one-line explanation.
std::string first_line(const std::string& text) { return trim(text.substr(0, text.find('\n'))); }

} // namespace

const Gpu* GpuInventory::by_uuid(std::string_view uuid) const {
  for (const auto& gpu : gpus)
    if (gpu.uuid == uuid) return &gpu;
  return nullptr;
}

std::vector<GpuProcess> GpuInventory::processes_on(const Gpu& gpu) const {
  std::vector<GpuProcess> found;
  for (const auto& process : processes)
    if (process.gpu_uuid == gpu.uuid) found.push_back(process);
  return found;
}

std::optional<std::string> parse_proc_driver_version(std::string_view text) {
  static const std::regex version("Kernel Module(?: for [^ ]+)?\\s+([0-9]+\\.[0-9]+(?:\\.[0-9]+)?)");
  std::string first(text.substr(0, text.find('\n')));
  std::smatch match;
  if (!std::regex_search(first, match, version)) return std::nullopt;
  return match[1].str();
}

std::optional<std::string> parse_smi_driver_version(std::string_view text) {
  static const std::regex version("DRIVER version\\s*:\\s*([0-9][0-9.]*)");
  std::string all(text);
  std::smatch match;
  if (!std::regex_search(all, match, version)) return std::nullopt;
  return match[1].str();
}

std::vector<Gpu> parse_gpu_table(std::string_view csv) {
  std::vector<Gpu> gpus;
  int line_number = 0;
  for (const auto& line : lines_of(csv)) {
    ++line_number;
    std::vector<std::string> fields;
    for (const auto& field : split(line, ',')) fields.push_back(trim(field));
    if (fields.size() != 13)
      throw Error(ExitCode::failed, "nvidia-smi --query-gpu line " + std::to_string(line_number) + ": expected 13 fields, found " +
                                        std::to_string(fields.size()));
    Gpu gpu;
    gpu.index = static_cast<int>(number_or_zero(fields[0]));
    gpu.uuid = fields[1];
    gpu.name = fields[2];
    gpu.pci_bus_id = fields[3];
    gpu.driver_version = fields[4];
    gpu.memory_total_mib = number_or_zero(fields[5]);
    gpu.memory_used_mib = number_or_zero(fields[6]);
    gpu.memory_free_mib = number_or_zero(fields[7]);
    gpu.utilization_percent = fields[8];
    gpu.compute_capability = parse_compute_capability(fields[9]);
    gpu.temperature_c = fields[10];
    gpu.power_draw_w = fields[11];
    gpu.mig_enabled = fields[12] == "Enabled";
    gpus.push_back(gpu);
  }
  return gpus;
}

void add_mig_devices(std::vector<Gpu>& gpus, std::string_view gpu_list) {
  static const std::regex gpu_line("GPU ([0-9]+): .*\\(UUID: (GPU-[^)]+)\\)");
  static const std::regex mig_line("\\s+MIG (\\S+)\\s+Device\\s+([0-9]+): \\(UUID: (MIG-[^)]+)\\)");
  Gpu* current = nullptr;
  for (const auto& line : lines_of(gpu_list)) {
    std::smatch match;
    if (std::regex_search(line, match, gpu_line) && line.rfind("GPU ", 0) == 0) {
      current = nullptr;
      for (auto& gpu : gpus)
        if (gpu.uuid == match[2].str()) current = &gpu;
    } else if (current && std::regex_match(line, match, mig_line)) {
      current->mig_devices.push_back({std::stoi(match[2]), match[1].str(), match[3].str()});
    }
  }
}

std::vector<GpuProcess> parse_compute_apps(std::string_view csv) {
  std::vector<GpuProcess> processes;
  for (const auto& line : lines_of(csv)) {
    std::vector<std::string> fields;
    for (const auto& field : split(line, ',')) fields.push_back(trim(field));
    if (fields.size() != 3 || fields[0] == "pid") continue;
    GpuProcess process;
    process.pid = static_cast<long>(number_or_zero(fields[0]));
    process.gpu_uuid = fields[1];
    if (fields[2].find_first_of("0123456789") != std::string::npos) process.used_mib = number_or_zero(fields[2]);
    processes.push_back(process);
  }
  return processes;
}

GpuInventory read_gpu_inventory(doctor::HostQueries& queries) {
  GpuInventory inventory;
  doctor::Fact proc = queries.driver_version();
  if (proc.ok()) inventory.driver_version = parse_proc_driver_version(proc.out).value_or("");
  if (inventory.driver_version.empty()) {
    doctor::Fact smi = queries.nvidia_smi_version();
    if (smi.ok()) inventory.driver_version = parse_smi_driver_version(smi.out).value_or("");
    if (inventory.driver_version.empty()) {
      if (!proc.recorded && !smi.recorded) inventory.problem = "the facts do not record the NVIDIA driver";
      else if (smi.exit_code == 127) inventory.problem = "/proc/driver/nvidia/version is missing and nvidia-smi is not installed";
      else inventory.problem = "/proc/driver/nvidia/version is missing and nvidia-smi failed: " + first_line(smi.err + smi.out);
      return inventory;
    }
  }
  doctor::Fact table = queries.gpu_table();
  try {
    if (!table.ok()) throw Error(ExitCode::failed, "nvidia-smi --query-gpu failed: " + first_line(table.err + table.out));
    inventory.gpus = parse_gpu_table(table.out);
    if (doctor::Fact list = queries.gpu_list(); list.ok()) add_mig_devices(inventory.gpus, list.out);
    if (doctor::Fact apps = queries.compute_apps(); apps.ok()) inventory.processes = parse_compute_apps(apps.out);
  } catch (const Error& error) {
    inventory.problem = error.what();
  }
  return inventory;
}

nlohmann::json to_json(const GpuInventory& inventory) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& gpu : inventory.gpus) {
    nlohmann::json mig = nlohmann::json::array();
    for (const auto& device : gpu.mig_devices)
      mig.push_back({{"index", device.index}, {"profile", device.profile}, {"uuid", device.uuid}});
    gpus.push_back({{"index", gpu.index},
                    {"uuid", gpu.uuid},
                    {"name", gpu.name},
                    {"pci_bus_id", gpu.pci_bus_id},
                    {"driver_version", gpu.driver_version},
                    {"memory_total_mib", gpu.memory_total_mib},
                    {"memory_used_mib", gpu.memory_used_mib},
                    {"memory_free_mib", gpu.memory_free_mib},
                    {"utilization_percent", gpu.utilization_percent},
                    {"compute_capability", gpu.compute_capability.dotted()},
                    {"temperature_c", gpu.temperature_c},
                    {"power_draw_w", gpu.power_draw_w},
                    {"mig_enabled", gpu.mig_enabled},
                    {"mig_devices", mig}});
  }
  nlohmann::json processes = nlohmann::json::array();
  for (const auto& process : inventory.processes)
    processes.push_back({{"pid", process.pid},
                         {"gpu_uuid", process.gpu_uuid},
                         {"used_mib", process.used_mib ? nlohmann::json(*process.used_mib) : nlohmann::json()}});
  return {{"driver_version", inventory.driver_version}, {"gpus", gpus}, {"processes", processes}};
}

} // namespace launcher::gpu
