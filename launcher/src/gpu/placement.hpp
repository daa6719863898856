#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "gpu/inventory.hpp"
#include "gpu/lock.hpp"
#include "gpu/shared_table.hpp"
#include "gpu/topology.hpp"
#include "plan/resolve.hpp"

namespace launcher::engine {
class Engine;
}

namespace launcher::gpu {

// A launcher container's GPUs as its io.launcher.gpus label says, and whether it holds them now:
// a running (or paused, or restarting) env does, a stopped one does not.
struct LabelledGpus {
  std::string label;
  bool holding = false;
};

// Whether a container in this `docker ps` state ("running", "exited", ...) holds its GPUs.
bool holds_gpus(const std::string& state);

// Who is asking, and what else holds GPUs on this host.
struct PlacementContext {
  GpuHolder claimant;              // env is filled in per request
  std::filesystem::path lock_file; // the GPU table
  HolderProbe probe;               // whether a recorded holder still holds
  // Every env's GPUs by its container's labels (all users', unlike the table).
  std::function<std::map<std::string, LabelledGpus>()> gpus_by_env;
  const Clock* clock = &system_clock(); // leases' times and the waits
  std::chrono::seconds lease_grace = default_lease_grace;
  std::ostream* progress = nullptr; // where a wait for GPUs says where it stands
  // The shared GPU table, when the engine cannot show other users' containers (rootless Podman):
  // its live entries and the GPUs busy outside it count as taken, and a recorded choice is
  // written to it as the env's entry under its lock. nullopt: Docker's labels are the truth.
  std::optional<SharedTable> shared_table{};
};

// How long `up --wait` waits its turn for GPUs, and how often it looks again.
struct GpuWait {
  std::chrono::seconds limit{0};
  std::chrono::milliseconds poll{2000};
};

// Plan resolution's GPUs on this host, from nvidia-smi's inventory and topology (read once, on
// the first GPU asked for). Reservation::record writes choices to the GPU table (`up`);
// Reservation::preview only tells them (render, --dry-run), and passes named GPUs through
// unchecked on a host without any (a command rendered for another host). With a `wait`, a
// recorded `{"count": N}` choice that finds too few GPUs free waits in the table's line instead
// of failing (reading the host again at each poll), saying where it stands; SIGINT, SIGTERM or
// HUP (under its own process::InterruptScope) or the end of the wait take it out of the line.
class HostGpus final : public plan::GpuHost {
public:
  HostGpus(facts::HostQueries& queries, PlacementContext context, Reservation reservation,
           std::optional<GpuWait> wait = std::nullopt)
      : queries_(queries), context_(std::move(context)), reservation_(reservation), wait_(wait) {}

  std::vector<plan::PlacedGpu> claim(const std::string& env, const std::vector<std::string>& devices) override;
  std::vector<plan::PlacedGpu> choose(const std::string& env, int count) override;
  std::string topology_source() override;

private:
  const GpuInventory& inventory();
  plan::PlacedGpu placed(const Gpu& gpu, const std::string& device);
  GpuHolder claimant(const std::string& env) const;
  LeaseTerms lease_terms() const;
  // Other envs' GPUs by their running containers' labels, and the claimant's own by its container's.
  HolderTable held_by_containers(const std::string& env);
  std::vector<Gpu> wait_for_gpus(const std::string& env, int count);
  // The shared table's lock while a recorded choice is made (nullptr without a shared table or
  // for a preview), and the choice written as the env's entry under it.
  std::unique_ptr<SharedTableLock> lock_shared_table() const;
  void record_shared(const std::string& env, const std::vector<std::string>& uuids) const;

  facts::HostQueries& queries_;
  PlacementContext context_;
  Reservation reservation_;
  std::optional<GpuWait> wait_;
  std::optional<GpuInventory> inventory_;
  GpuTopology topology_;
};

// The context of the invoking user and process, with the containers' labels read from the engine
// (which must outlive the context), the GPU table at `lock_file` and, when given, the shared table.
PlacementContext live_placement_context(const std::string& user_name, unsigned uid,
                                        const std::filesystem::path& lock_file, const engine::Engine& engine,
                                        const Clock& clock, std::ostream& progress,
                                        std::optional<SharedTable> shared_table = std::nullopt);
// A temporary engine dies before the context is used.
PlacementContext live_placement_context(const std::string& user_name, unsigned uid,
                                        const std::filesystem::path& lock_file, const engine::Engine&& engine,
                                        const Clock& clock, std::ostream& progress,
                                        std::optional<SharedTable> shared_table = std::nullopt) = delete;

} // namespace launcher::gpu
