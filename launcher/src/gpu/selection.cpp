#include "gpu/selection.hpp"

#include <algorithm>
#include <regex>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::gpu {

namespace {

std::string gpu_label(const Gpu& gpu) { return "GPU " + std::to_string(gpu.index) + " " + gpu.name; }

std::string host_gpus(const GpuInventory& inventory) {
  if (inventory.gpus.empty())
    return "no NVIDIA GPU" + (inventory.problem.empty() ? "" : " (" + inventory.problem + ")");
  std::string text;
  for (const auto& gpu : inventory.gpus)
    text += (text.empty() ? "" : ", ") + gpu_label(gpu) + " (" + gpu.uuid + ")";
  return text;
}

std::string host_mig_devices(const GpuInventory& inventory) {
  std::string text;
  for (const auto& gpu : inventory.gpus)
    for (const auto& device : gpu.mig_devices)
      text += (text.empty() ? "" : ", ") + std::to_string(gpu.index) + ":" + std::to_string(device.index) + " " +
              device.profile + " (" + device.uuid + ")";
  return text.empty() ? "no MIG device" : text;
}

[[noreturn]] void not_on_host(const std::string& what, const std::string& has) {
  throw Error(ExitCode::host_incapable, what + " is not on this host, which has " + has);
}

std::string memory_use(const GpuInventory& inventory, const Gpu& gpu) {
  std::string text = std::to_string(gpu.memory_used_mib) + "/" + std::to_string(gpu.memory_total_mib) + " MiB used";
  std::string pids;
  for (const auto& process : inventory.processes_on(gpu))
    pids += (pids.empty() ? "" : ", ") + std::to_string(process.pid);
  return pids.empty() ? text : text + " by PID " + pids;
}

} // namespace

const Gpu* match_device(const GpuInventory& inventory, const std::string& device) {
  // Devices also come from Docker's output, unchecked; the expressions below recurse once per
  // character, so a long one is refused before them (the longest real form is 56 characters).
  constexpr std::size_t longest_device = 64;
  if (device.size() > longest_device) not_on_host("GPU " + quote_for_message(device), host_gpus(inventory));
  static const std::regex index("[0-9]+"), pair("([0-9]+):([0-9]+)"), legacy_mig("MIG-(GPU-[^/]+)/[0-9]+/[0-9]+");
  std::smatch match;
  if (std::regex_match(device, index)) {
    for (const auto& gpu : inventory.gpus)
      if (std::to_string(gpu.index) == device) return &gpu;
    not_on_host("GPU " + device, host_gpus(inventory));
  }
  if (std::regex_match(device, match, pair)) {
    for (const auto& gpu : inventory.gpus)
      for (const auto& mig : gpu.mig_devices)
        if (std::to_string(gpu.index) == match[1].str() && std::to_string(mig.index) == match[2].str()) return &gpu;
    not_on_host("MIG device " + device, host_mig_devices(inventory));
  }
  if (std::regex_match(device, match, legacy_mig)) {
    if (const Gpu* gpu = inventory.by_uuid(match[1].str()); gpu && gpu->mig_enabled) return gpu;
    not_on_host("MIG device " + device, host_mig_devices(inventory));
  }
  if (device.rfind("MIG-", 0) == 0) {
    for (const auto& gpu : inventory.gpus)
      for (const auto& mig : gpu.mig_devices)
        if (mig.uuid == device) return &gpu;
    not_on_host("MIG device " + device, host_mig_devices(inventory));
  }
  if (const Gpu* gpu = inventory.by_uuid(device)) return gpu;
  not_on_host("GPU " + device, host_gpus(inventory));
}

std::vector<const Gpu*> match_devices(const GpuInventory& inventory, const std::vector<std::string>& devices) {
  std::vector<const Gpu*> gpus;
  for (const auto& device : devices) {
    const Gpu* gpu = match_device(inventory, device);
    if (std::find(gpus.begin(), gpus.end(), gpu) == gpus.end()) gpus.push_back(gpu);
  }
  return gpus;
}

std::vector<const Gpu*> available_gpus(const GpuInventory& inventory, const HolderTable& holders,
                                       const std::string& env) {
  std::vector<const Gpu*> own, free;
  for (const auto& gpu : inventory.gpus) {
    if (gpu.mig_enabled) continue;
    auto holder = holders.find(gpu.uuid);
    if (holder == holders.end())
      free.push_back(&gpu);
    else if (holder->second.env == env)
      own.push_back(&gpu);
  }
  std::stable_sort(free.begin(), free.end(), [](const Gpu* a, const Gpu* b) {
    return a->memory_used_mib != b->memory_used_mib ? a->memory_used_mib < b->memory_used_mib : a->index < b->index;
  });
  own.insert(own.end(), free.begin(), free.end());
  return own;
}

std::string describe_gpus(const GpuInventory& inventory, const HolderTable& holders, const std::string& env) {
  std::string text;
  for (const auto& gpu : inventory.gpus) {
    text += "\n  " + gpu_label(gpu) + ": " + memory_use(inventory, gpu) + "; ";
    auto found = holders.find(gpu.uuid);
    const GpuHolder* holder = found == holders.end() ? nullptr : &found->second;
    if (gpu.mig_enabled)
      text += "MIG enabled: name its MIG devices instead";
    else if (!holder)
      text += "free";
    else if (holder->env == env)
      text += "held by this env";
    else if (holder->env.empty())
      text += "busy outside the GPU table";
    else if (holder->user.empty())
      text += "held by env " + holder->env + " (its container's label)";
    else
      text += "held by env " + holder->env + " (user " + holder->user + ", pid " + std::to_string(holder->pid) + ")";
  }
  return text;
}

std::vector<const Gpu*> choose_gpus(const GpuInventory& inventory, const HolderTable& holders, const std::string& env,
                                    int count) {
  std::vector<const Gpu*> chosen = available_gpus(inventory, holders, env);
  if (static_cast<int>(chosen.size()) >= count) {
    chosen.resize(static_cast<std::size_t>(count));
    return chosen;
  }
  std::string message = "asked for " + std::to_string(count) + " GPU" + (count == 1 ? "" : "s") + ", ";
  if (inventory.gpus.empty()) throw Error(ExitCode::host_incapable, message + "this host has " + host_gpus(inventory));
  throw Error(ExitCode::host_incapable, message + std::to_string(chosen.size()) + " of " +
                                            std::to_string(inventory.gpus.size()) +
                                            " free on this host:" + describe_gpus(inventory, holders, env));
}

HolderTable holders_from_labels(const GpuInventory& inventory, const std::map<std::string, std::string>& gpus_by_env) {
  HolderTable holders;
  for (const auto& [env, label] : gpus_by_env) {
    GpuHolder holder{env, 0, "", 0};
    if (label == "all") {
      for (const auto& gpu : inventory.gpus)
        holders.emplace(gpu.uuid, holder);
      continue;
    }
    if (label == "none" || label.empty()) continue;
    for (const auto& device : split(label, ',')) {
      try {
        holders.emplace(match_device(inventory, device)->uuid, holder);
      } catch (const Error&) {
        // A label naming a GPU this host lacks holds nothing here.
      }
    }
  }
  return holders;
}

} // namespace launcher::gpu
