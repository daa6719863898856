#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gpu/inventory.hpp"
#include "gpu/lock.hpp"
#include "gpu/topology.hpp"
#include "plan/resolve.hpp"

namespace launcher::docker {
class Docker;
}

namespace launcher::gpu {

// Who is asking, and what else holds GPUs on this host.
struct PlacementContext {
  GpuHolder claimant;              // env is filled in per request
  std::filesystem::path lock_file; // the GPU table
  HolderProbe probe;               // whether a recorded holder still holds
  // Every env's GPUs by its containers' io.launcher.gpus labels (all users', unlike the table).
  std::function<std::map<std::string, std::string>()> gpus_by_env;
};

// Plan resolution's GPUs on this host, from nvidia-smi's inventory and topology (read once, on
// the first GPU asked for). Reservation::record writes choices to the GPU table (`up`);
// Reservation::preview only tells them (render, --dry-run), and passes named GPUs through
// unchecked on a host without any (a command rendered for another host).
class HostGpus final : public plan::GpuHost {
public:
  HostGpus(facts::HostQueries& queries, PlacementContext context, Reservation reservation)
      : queries_(queries), context_(std::move(context)), reservation_(reservation) {}

  std::vector<plan::PlacedGpu> claim(const std::string& env, const std::vector<std::string>& devices) override;
  std::vector<plan::PlacedGpu> choose(const std::string& env, int count) override;
  std::string topology_source() override;

private:
  const GpuInventory& inventory();
  plan::PlacedGpu placed(const Gpu& gpu, const std::string& device);
  GpuHolder claimant(const std::string& env) const;

  facts::HostQueries& queries_;
  PlacementContext context_;
  Reservation reservation_;
  std::optional<GpuInventory> inventory_;
  GpuTopology topology_;
};

// The context of the invoking user and process, with the containers' labels read from Docker and
// the GPU table at `lock_file`.
PlacementContext live_placement_context(const std::string& user_name, unsigned uid,
                                        const std::filesystem::path& lock_file, const docker::Docker& docker);

} // namespace launcher::gpu
