#include "gpu/placement.hpp"

#include <unistd.h>

#include "core/error.hpp"
#include "docker/docker.hpp"
#include "facts/facts.hpp"
#include "gpu/selection.hpp"
#include "launcher_contract/contract.hpp"

namespace launcher::gpu {

const GpuInventory& HostGpus::inventory() {
  if (!inventory_) {
    inventory_ = read_gpu_inventory(queries_);
    topology_ = read_gpu_topology(queries_);
  }
  return *inventory_;
}

std::string HostGpus::topology_source() {
  inventory();
  return topology_.problem.empty() ? "nvidia-smi topo -m" : topology_.problem;
}

plan::PlacedGpu HostGpus::placed(const Gpu& gpu, const std::string& device) {
  plan::PlacedGpu result{device, "GPU " + std::to_string(gpu.index) + " (" + gpu.pci_bus_id + ")", "", ""};
  auto found = topology_.affinity.find(gpu.index);
  if (found == topology_.affinity.end()) return result;
  if (found->second.cpus) result.cpus = format_cpu_list(*found->second.cpus);
  if (found->second.numa_nodes) result.numa_nodes = format_cpu_list(*found->second.numa_nodes);
  return result;
}

GpuHolder HostGpus::claimant(const std::string& env) const {
  GpuHolder holder = context_.claimant;
  holder.env = env;
  return holder;
}

std::vector<plan::PlacedGpu> HostGpus::claim(const std::string& env, const std::vector<std::string>& devices) {
  const GpuInventory& gpus = inventory();
  std::vector<plan::PlacedGpu> result;
  // A preview on a host without GPUs renders for another host: the names pass through, unplaced.
  if (gpus.gpus.empty() && reservation_ == Reservation::preview) {
    for (const auto& device : devices)
      result.push_back({device, "GPU " + device, "", ""});
    return result;
  }
  for (const auto& device : devices)
    result.push_back(placed(*match_device(gpus, device), device));
  if (reservation_ == Reservation::record) record_gpus(context_.lock_file, match_devices(gpus, devices), claimant(env));
  return result;
}

std::vector<plan::PlacedGpu> HostGpus::choose(const std::string& env, int count) {
  const GpuInventory& gpus = inventory();
  std::vector<plan::PlacedGpu> result;
  for (const Gpu& gpu : reserve_gpus(context_.lock_file, gpus, claimant(env), count, context_.probe,
                                     holders_from_labels(gpus, context_.gpus_by_env()), reservation_))
    result.push_back(placed(gpu, std::to_string(gpu.index)));
  return result;
}

PlacementContext live_placement_context(const std::string& user_name, unsigned uid,
                                        const std::filesystem::path& lock_file, const docker::Docker& docker) {
  return {GpuHolder{"", uid, user_name, static_cast<long>(getpid())}, lock_file, live_holder_probe(docker), [&docker] {
            std::map<std::string, std::string> gpus_by_env;
            for (const auto& container :
                 docker.list_labelled(contract::label::env, {contract::label::env, contract::label::gpus}))
              gpus_by_env[container.labels.at(contract::label::env)] = container.labels.at(contract::label::gpus);
            return gpus_by_env;
          }};
}

} // namespace launcher::gpu
