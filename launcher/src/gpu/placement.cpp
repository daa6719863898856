#include "gpu/placement.hpp"

#include <unistd.h>

#include <ostream>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "core/error.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "gpu/selection.hpp"
#include "launcher_contract/contract.hpp"
#include "launcher_contract/stop_reason.hpp"
#include "process/process.hpp"

namespace launcher::gpu {

namespace {

// How often a wait for GPUs looks for a signal.
constexpr std::chrono::milliseconds poll_slice{200};

template <class Gpus> std::vector<std::string> uuids_of(const Gpus& gpus) {
  std::vector<std::string> uuids;
  for (const auto& gpu : gpus) {
    if constexpr (std::is_pointer_v<std::decay_t<decltype(gpu)>>)
      uuids.push_back(gpu->uuid);
    else
      uuids.push_back(gpu.uuid);
  }
  return uuids;
}

} // namespace

bool holds_gpus(const std::string& state) { return state == "running" || state == "paused" || state == "restarting"; }

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
  if (reservation_ == Reservation::record) {
    auto lock = lock_shared_table();
    std::vector<const Gpu*> named = match_devices(gpus, devices);
    record_gpus(context_.lock_file, named, claimant(env));
    record_shared(env, uuids_of(named));
  }
  return result;
}

LeaseTerms HostGpus::lease_terms() const {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(context_.clock->now().time_since_epoch());
  return {now.count(), context_.lease_grace};
}

HolderTable HostGpus::held_by_containers(const std::string& env) {
  std::map<std::string, std::string> others, own;
  for (const auto& [name, gpus] : context_.gpus_by_env()) {
    if (name == env)
      own[name] = gpus.label;
    else if (gpus.holding)
      others[name] = gpus.label;
  }
  HolderTable held = holders_from_labels(*inventory_, others);
  held.merge(holders_from_labels(*inventory_, own));
  if (context_.shared_table) {
    SharedTableView view = read_shared_table(context_.shared_table->dir, context_.shared_table->liveness);
    for (const auto& problem : view.problems)
      if (context_.progress) *context_.progress << "launcher: warning: " << problem << "\n";
    held.merge(shared_holders(view, *inventory_, geteuid(), env));
  }
  return held;
}

std::unique_ptr<SharedTableLock> HostGpus::lock_shared_table() const {
  if (!context_.shared_table || reservation_ != Reservation::record) return nullptr;
  return std::make_unique<SharedTableLock>(context_.shared_table->dir);
}

void HostGpus::record_shared(const std::string& env, const std::vector<std::string>& uuids) const {
  if (!context_.shared_table || reservation_ != Reservation::record) return;
  const LivenessProbe& liveness = context_.shared_table->liveness;
  write_shared_entry(context_.shared_table->dir,
                     {env, geteuid(), context_.claimant.user, uuids, proof_of(context_.claimant.pid, liveness)},
                     liveness);
}

namespace {

std::string gpus_word(int count) { return std::to_string(count) + (count == 1 ? " GPU" : " GPUs"); }

std::string ordinal(int place) {
  int tens = place % 100, ones = place % 10;
  const char* suffix = tens >= 11 && tens <= 13 ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return std::to_string(place) + suffix;
}

} // namespace

std::vector<Gpu> HostGpus::wait_for_gpus(const std::string& env, int count) {
  const Clock& clock = *context_.clock;
  auto deadline = clock.now() + wait_->limit;
  process::InterruptScope interrupt_scope;
  std::string said;
  // Whatever ends the wait without GPUs (the deadline, a signal, a failed Docker or nvidia-smi
  // call) takes this `up` out of the line first: no one waits behind a place nobody holds.
  try {
    for (;;) {
      auto lock = lock_shared_table();
      auto attempt = reserve_or_queue(context_.lock_file, *inventory_, claimant(env), count, context_.probe,
                                      lease_terms(), held_by_containers(env));
      if (auto* chosen = std::get_if<std::vector<Gpu>>(&attempt)) {
        record_shared(env, uuids_of(*chosen));
        return *chosen;
      }
      lock.reset();
      const QueuePlace& place = std::get<QueuePlace>(attempt);
      if (clock.now() >= deadline)
        throw Error(ExitCode::host_incapable, "waited " + contract::format_duration(wait_->limit) + " for " +
                                                  gpus_word(count) + ", " + std::to_string(place.free) + " of " +
                                                  std::to_string(inventory_->gpus.size()) +
                                                  " free on this host:" + place.holders);
      std::string state =
          fmt::format("launcher: waiting for {} ({} free of {}), {} of {} in line:{}\n", gpus_word(count), place.free,
                      inventory_->gpus.size(), ordinal(place.place), place.waiting, place.holders);
      if (state != said && context_.progress) *context_.progress << state << std::flush;
      said = state;
      for (auto slept = std::chrono::milliseconds(0); slept < wait_->poll; slept += poll_slice) {
        if (int signal = process::InterruptScope::pending()) throw process::Interrupted(signal, "");
        clock.sleep_for(poll_slice);
      }
      inventory_ = read_gpu_inventory(queries_);
    }
  } catch (const process::Interrupted& signal) {
    leave_queue(context_.lock_file, env);
    throw process::Interrupted(signal.signal(), "interrupted by " + process::signal_name(signal.signal()) +
                                                    " while waiting for GPUs; left the line, no GPU is reserved");
  } catch (...) {
    leave_queue(context_.lock_file, env);
    throw;
  }
}

std::vector<plan::PlacedGpu> HostGpus::choose(const std::string& env, int count) {
  inventory();
  std::vector<Gpu> chosen;
  if (reservation_ == Reservation::record && wait_) {
    chosen = wait_for_gpus(env, count);
  } else {
    auto lock = lock_shared_table();
    chosen = reserve_gpus(context_.lock_file, *inventory_, claimant(env), count, context_.probe, lease_terms(),
                          held_by_containers(env), reservation_);
    record_shared(env, uuids_of(chosen));
  }
  std::vector<plan::PlacedGpu> result;
  for (const Gpu& gpu : chosen)
    result.push_back(placed(gpu, std::to_string(gpu.index)));
  return result;
}

PlacementContext live_placement_context(const std::string& user_name, unsigned uid,
                                        const std::filesystem::path& lock_file, const engine::Engine& engine,
                                        const Clock& clock, std::ostream& progress,
                                        std::optional<SharedTable> shared_table) {
  return {GpuHolder{"", uid, user_name, static_cast<long>(getpid())},
          lock_file,
          live_holder_probe(engine),
          [&engine] {
            std::map<std::string, LabelledGpus> gpus_by_env;
            for (const auto& container :
                 engine.list_labelled(contract::label::env, {contract::label::env, contract::label::gpus}))
              gpus_by_env[container.labels.at(contract::label::env)] = {container.labels.at(contract::label::gpus),
                                                                        holds_gpus(container.state)};
            return gpus_by_env;
          },
          &clock,
          default_lease_grace,
          &progress,
          std::move(shared_table)};
}

} // namespace launcher::gpu
