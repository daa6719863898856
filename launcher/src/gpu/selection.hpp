#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gpu/inventory.hpp"

namespace launcher::gpu {

// Resolves an explicit device list (indices, GPU UUIDs, MIG UUIDs, "GPU:MIG" index pairs) to
// the GPUs they are on. Anything the host does not have is an Error (exit 3) listing what it
// does have, raised before Docker is called.
// The GPU one such device is on.
const Gpu* match_device(const GpuInventory& inventory, const std::string& device);

std::vector<const Gpu*> match_devices(const GpuInventory& inventory, const std::vector<std::string>& devices);

// Who holds a GPU: the launcher environment and the `up` that reserved it.
struct GpuHolder {
  std::string env; // "": processes no env of the shared GPU table accounts for (shared_holders)
  unsigned uid = 0;
  std::string user;
  long pid = 0; // the reserving launcher; alive while its container is being created
  // A `{"count": N}` choice is a lease: when it was made (the Clock's seconds) and the GPU's
  // memory use then, so that it ends once the env's job shows on the GPU. nullopt: named GPUs.
  std::optional<long long> chosen_at_s{};
  std::uint64_t memory_at_choice_mib = 0;

  bool operator==(const GpuHolder&) const = default;
};

using HolderTable = std::map<std::string, GpuHolder>; // by GPU UUID

// The whole GPUs `env` may take, in the order a choice takes them: the ones it already holds
// first, then GPUs no other env holds, least memory used first, then lowest index. MIG-enabled
// GPUs are never among them: their MIG devices must be named.
std::vector<const Gpu*> available_gpus(const GpuInventory& inventory, const HolderTable& holders,
                                       const std::string& env);

// Picks `count` whole GPUs for `env`: the ones it already holds first (an `up` again keeps its
// GPUs), then GPUs no other env holds, least memory used first, then lowest index. MIG-enabled
// GPUs are never picked: their MIG devices must be named. Not enough: an Error (exit 3) that
// lists every GPU with its memory use and who holds it.
std::vector<const Gpu*> choose_gpus(const GpuInventory& inventory, const HolderTable& holders, const std::string& env,
                                    int count);

// Each GPU on a line of its own ("\n  GPU 0 NVIDIA H100 80GB HBM3: 0/81559 MiB used; free"): its
// memory use, the PIDs using it, and who holds it, as `env` sees it.
std::string describe_gpus(const GpuInventory& inventory, const HolderTable& holders, const std::string& env);

// What the launcher's containers hold by their io.launcher.gpus labels ("all", "0,1", UUIDs),
// keyed by env: Docker's truth about every user's envs, which this user's table may not know.
// Devices this host does not have are left out.
HolderTable holders_from_labels(const GpuInventory& inventory, const std::map<std::string, std::string>& gpus_by_env);

} // namespace launcher::gpu
