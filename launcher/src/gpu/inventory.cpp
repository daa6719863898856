#include "gpu/inventory.hpp"

#include <charconv>

#include "core/error.hpp"
#include "core/text.hpp"
#include "facts/facts.hpp"

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

// One line of nvidia-smi's --format=csv output: its number among the non-blank lines, and its
// fields split at commas and trimmed.
struct CsvRow {
  int line_number;
  std::vector<std::string> fields;
};

std::vector<CsvRow> csv_rows(std::string_view csv) {
  std::vector<CsvRow> rows;
  for (const auto& line : lines_of(csv)) {
    CsvRow row{static_cast<int>(rows.size()) + 1, {}};
    for (const auto& field : split(line, ','))
      row.fields.push_back(trim(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A whole field of decimal digits that fits in 64 bits, or nullopt.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

// "8.0"; "[N/A]" leaves it unknown (major 0) for the checks to say so.
std::optional<ComputeCapability> parse_compute_capability(std::string_view text) {
  if (text == "[N/A]" || text == "N/A") return ComputeCapability{};
  std::size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot > 2 || text.size() - dot - 1 > 2) return std::nullopt;
  auto major = parse_unsigned(text.substr(0, dot)), minor = parse_unsigned(text.substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return ComputeCapability{static_cast<int>(*major), static_cast<int>(*minor)};
}

// A driver version as nvidia-smi and the kernel module print it: "550.54.15", "470.199.02", "575.51".
std::optional<std::string> driver_version_at(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && (is_digit(text[end]) || text[end] == '.'))
    ++end;
  std::string_view version = text.substr(0, end);
  std::vector<std::string> fields = split(version, '.');
  if (fields.size() < 2 || fields.size() > 3 || version.size() > 32) return std::nullopt;
  for (const auto& field : fields)
    if (field.empty()) return std::nullopt;
  return std::string(version);
}

std::string_view skip_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  return text;
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
  // "... Kernel Module  550.54.15  ..." or "... Open Kernel Module for x86_64  575.57.08  ...", first line.
  std::string_view first = text.substr(0, text.find('\n'));
  std::size_t module = first.find("Kernel Module");
  if (module == std::string_view::npos) return std::nullopt;
  std::string_view rest = first.substr(module + std::string_view("Kernel Module").size());
  if (starts_with(rest, " for ")) {
    rest.remove_prefix(5);
    rest = rest.substr(std::min(rest.find(' '), rest.size()));
  }
  std::string_view version = skip_spaces(rest);
  if (version.size() == rest.size()) return std::nullopt;
  return driver_version_at(version);
}

std::optional<std::string> parse_smi_driver_version(std::string_view text) {
  // "DRIVER version                 : 580.159.04"
  std::size_t label = text.find("DRIVER version");
  if (label == std::string_view::npos) return std::nullopt;
  std::string_view rest = skip_spaces(text.substr(label + std::string_view("DRIVER version").size()));
  if (!starts_with(rest, ":")) return std::nullopt;
  return driver_version_at(skip_spaces(rest.substr(1)));
}

std::vector<Gpu> parse_gpu_table(std::string_view csv) {
  std::vector<Gpu> gpus;
  for (const auto& row : csv_rows(csv)) {
    const std::vector<std::string>& fields = row.fields;
    std::string where = "nvidia-smi --query-gpu line " + std::to_string(row.line_number);
    if (fields.size() != 13)
      throw Error(ExitCode::failed, where + ": expected 13 fields, found " + std::to_string(fields.size()));
    auto malformed = [&](const char* field, std::size_t at, const char* expected) {
      return Error(ExitCode::failed,
                   where + ": " + field + ": expected " + expected + ", found " + quote_for_message(fields[at]));
    };
    auto mib = [&](const char* field, std::size_t at) {
      auto number = parse_unsigned(fields[at]);
      if (!number) throw malformed(field, at, "a number of MiB");
      return *number;
    };
    Gpu gpu;
    auto index = parse_unsigned(fields[0]);
    if (!index || *index > 65535) throw malformed("index", 0, "a GPU index");
    gpu.index = static_cast<int>(*index);
    gpu.uuid = fields[1];
    if (!starts_with(gpu.uuid, "GPU-")) throw malformed("uuid", 1, "a GPU UUID (GPU-...)");
    gpu.name = fields[2];
    if (gpu.name.empty()) throw malformed("name", 2, "a GPU name");
    gpu.pci_bus_id = fields[3];
    gpu.driver_version = fields[4];
    gpu.memory_total_mib = mib("memory.total", 5);
    gpu.memory_used_mib = mib("memory.used", 6);
    gpu.memory_free_mib = mib("memory.free", 7);
    gpu.utilization_percent = fields[8];
    auto capability = parse_compute_capability(fields[9]);
    if (!capability) throw malformed("compute_cap", 9, "a compute capability like 8.0, or [N/A]");
    gpu.compute_capability = *capability;
    gpu.temperature_c = fields[10];
    gpu.power_draw_w = fields[11];
    const std::string& mig = fields[12];
    if (mig != "Enabled" && mig != "Disabled" && mig != "[N/A]" && mig != "N/A")
      throw malformed("mig.mode.current", 12, "Enabled, Disabled or [N/A]");
    gpu.mig_enabled = mig == "Enabled";
    gpus.push_back(gpu);
  }
  return gpus;
}

namespace {

// "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-...)": the UUID, or nullopt for another line.
std::optional<std::string> listed_gpu_uuid(std::string_view line) {
  if (!starts_with(line, "GPU ")) return std::nullopt;
  std::size_t start = line.find("(UUID: GPU-");
  if (start == std::string_view::npos) return std::nullopt;
  start += std::string_view("(UUID: ").size();
  std::size_t end = line.find(')', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(start, end - start));
}

// "  MIG 3g.20gb     Device  0: (UUID: MIG-c6d4f1ef-...)", or nullopt for another line.
std::optional<MigDevice> listed_mig_device(std::string_view line) {
  std::string_view rest = skip_spaces(line);
  if (rest.size() == line.size() || !starts_with(rest, "MIG ")) return std::nullopt;
  rest = skip_spaces(rest.substr(4));
  std::size_t profile_end = rest.find_first_of(" \t");
  if (profile_end == 0 || profile_end == std::string_view::npos) return std::nullopt;
  MigDevice device;
  device.profile = std::string(rest.substr(0, profile_end));
  rest = skip_spaces(rest.substr(profile_end));
  if (!starts_with(rest, "Device")) return std::nullopt;
  std::string_view after_word = rest.substr(6);
  rest = skip_spaces(after_word);
  if (rest.size() == after_word.size()) return std::nullopt;
  std::size_t colon = rest.find(':');
  auto index = colon == std::string_view::npos ? std::nullopt : parse_unsigned(rest.substr(0, colon));
  if (!index || *index > 65535) return std::nullopt;
  device.index = static_cast<int>(*index);
  rest = rest.substr(colon + 1);
  if (!starts_with(rest, " (UUID: MIG-") || rest.back() != ')') return std::nullopt;
  device.uuid = std::string(rest.substr(8, rest.size() - 9));
  return device;
}

} // namespace

void add_mig_devices(std::vector<Gpu>& gpus, std::string_view gpu_list) {
  Gpu* current = nullptr;
  for (const auto& line : lines_of(gpu_list)) {
    if (auto uuid = listed_gpu_uuid(line)) {
      current = nullptr;
      for (auto& gpu : gpus)
        if (gpu.uuid == *uuid) current = &gpu;
    } else if (auto device = current ? listed_mig_device(line) : std::nullopt) {
      current->mig_devices.push_back(*device);
    }
  }
}

std::vector<GpuProcess> parse_compute_apps(std::string_view csv) {
  std::vector<GpuProcess> processes;
  for (const auto& row : csv_rows(csv)) {
    const std::vector<std::string>& fields = row.fields;
    if (fields.size() != 3 || fields[0] == "pid") continue;
    std::string where = "nvidia-smi --query-compute-apps line " + std::to_string(row.line_number);
    GpuProcess process;
    auto pid = parse_unsigned(fields[0]);
    if (!pid || *pid > 4194304) // Linux's pid_max limit
      throw Error(ExitCode::failed, where + ": pid: expected a process id, found " + quote_for_message(fields[0]));
    process.pid = static_cast<long>(*pid);
    process.gpu_uuid = fields[1];
    // "40448 MiB", or "[N/A]" without the right to see it.
    const std::string& used = fields[2];
    if (!used.empty() && is_digit(used[0])) {
      std::string_view digits = std::string_view(used).substr(0, used.find(' '));
      auto mib = parse_unsigned(digits);
      if (!mib || (digits.size() < used.size() && used.substr(digits.size()) != " MiB"))
        throw Error(ExitCode::failed,
                    where + ": used_memory: expected a number of MiB, found " + quote_for_message(used));
      process.used_mib = *mib;
    }
    processes.push_back(process);
  }
  return processes;
}

GpuInventory read_gpu_inventory(facts::HostQueries& queries) {
  GpuInventory inventory;
  facts::Fact proc = queries.driver_version();
  if (proc.ok()) inventory.driver_version = parse_proc_driver_version(proc.out).value_or("");
  if (inventory.driver_version.empty()) {
    facts::Fact smi = queries.nvidia_smi_version();
    if (smi.ok()) inventory.driver_version = parse_smi_driver_version(smi.out).value_or("");
    if (inventory.driver_version.empty()) {
      if (!proc.recorded && !smi.recorded)
        inventory.problem = "the facts do not record the NVIDIA driver";
      else if (smi.exit_code == 127)
        inventory.problem = "/proc/driver/nvidia/version is missing and nvidia-smi is not installed";
      else
        inventory.problem =
            "/proc/driver/nvidia/version is missing and nvidia-smi failed: " + first_line(smi.err + smi.out);
      return inventory;
    }
  }
  facts::Fact table = queries.gpu_table();
  try {
    if (!table.ok())
      throw Error(ExitCode::failed, "nvidia-smi --query-gpu failed: " + first_line(table.err + table.out));
    inventory.gpus = parse_gpu_table(table.out);
    if (facts::Fact list = queries.gpu_list(); list.ok()) add_mig_devices(inventory.gpus, list.out);
    if (facts::Fact apps = queries.compute_apps(); apps.ok()) inventory.processes = parse_compute_apps(apps.out);
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
