#include "commands/gpus.hpp"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>

#include "core/error.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "gpu/inventory.hpp"
#include "gpu/lock.hpp"
#include "gpu/placement.hpp"
#include "gpu/usage.hpp"
#include "host/host_facts.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/inspect.hpp"

namespace launcher::commands {

namespace {

// Every launcher env on this host, all users', from Docker's containers and their labels.
std::vector<gpu::EnvContainer> env_containers(const engine::Engine& engine) {
  std::vector<gpu::EnvContainer> envs;
  for (const auto& container : engine.containers_labelled(contract::label::env)) {
    std::string env = lifecycle::env_of(container);
    if (env.empty()) continue; // a snapshot's container run by hand: no env
    std::string uid = lifecycle::env_variable(container, contract::env::uid);
    envs.push_back({env, lifecycle::profile_of(container), lifecycle::env_variable(container, contract::env::user),
                    static_cast<unsigned>(std::strtoul(uid.c_str(), nullptr, 10)), lifecycle::id_of(container),
                    lifecycle::gpus_label_of(container), lifecycle::started_at_of(container),
                    gpu::holds_gpus(lifecycle::state_of(container))});
  }
  return envs;
}

// The GPU table's leases that still hold, judged as `up` judges them. A table this user cannot
// read is a warning: the containers' labels still tell who holds what.
gpu::HolderTable live_leases(const std::filesystem::path& table, const gpu::GpuInventory& inventory,
                             const std::vector<gpu::EnvContainer>& envs, const Clock& clock, std::ostream& err) {
  gpu::HolderTable leases;
  try {
    gpu::with_holder_table(table, [&](gpu::HolderTable& holders) { leases = holders; });
  } catch (const Error& error) {
    err << "launcher: warning: " << error.what() << "\n";
    return leases;
  }
  gpu::HolderProbe probe{[&](const std::string& env) {
                           for (const auto& container : envs)
                             if (container.env == env && container.holding) return true;
                           return false;
                         },
                         [](long pid) { return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }};
  auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch());
  gpu::drop_stale_holders(leases, "", probe, inventory, {now.count(), gpu::default_lease_grace});
  return leases;
}

// Who runs each process on a GPU, and in which container.
std::map<long, gpu::ProcessFacts> process_facts(const gpu::GpuInventory& inventory, facts::HostQueries& queries) {
  std::map<long, gpu::ProcessFacts> processes;
  for (const auto& process : inventory.processes) {
    if (processes.count(process.pid)) continue;
    gpu::ProcessFacts facts;
    if (facts::Fact status = queries.process_status(process.pid); status.ok())
      facts.uid = gpu::parse_status_uid(status.out);
    if (facts.uid)
      if (facts::Fact entry = queries.passwd_entry(*facts.uid); entry.ok())
        facts.user = gpu::parse_passwd_name(entry.out).value_or("");
    if (facts::Fact cgroup = queries.process_cgroup(process.pid); cgroup.ok()) facts.cgroup = cgroup.out;
    processes[process.pid] = facts;
  }
  return processes;
}

} // namespace

void add_gpus_command(CLI::App& app, Context& context) {
  struct Options {
    bool json = false;
    std::string facts_dir;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "gpus", "list this host's GPUs: memory, utilisation, the env holding each, and processes of no env");
  command->add_flag("--json", options->json, "print them as JSON");
  command->add_option("--facts", options->facts_dir, "read the GPUs from facts saved by `doctor --save-facts`")
      ->check(CLI::ExistingDirectory);
  command->callback([options, &context] {
    std::optional<facts::DirectoryFactSource> saved;
    if (!options->facts_dir.empty()) saved.emplace(std::vector<std::filesystem::path>{options->facts_dir});
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    facts::HostQueries queries(saved ? static_cast<facts::FactSource&>(*saved) : *context.facts, *engine);
    gpu::GpuInventory inventory = gpu::read_gpu_inventory(queries);
    if (inventory.gpus.empty())
      throw Error(ExitCode::host_incapable,
                  "no NVIDIA GPU on this host" + (inventory.problem.empty() ? "" : ": " + inventory.problem));
    host::HostFacts host = host::read_host_facts();
    std::vector<gpu::EnvContainer> envs = env_containers(*engine);
    gpu::HolderTable leases =
        live_leases(context.gpu_table_for(host.state_home), inventory, envs, *context.clock, *context.err);
    // Under sudo, the envs of who ran sudo are the viewer's own, as they are for `up`.
    unsigned viewer = host.sudo_invoker ? host.sudo_invoker->uid : host.uid;
    std::vector<gpu::GpuRow> rows = gpu::gpu_rows(inventory, envs, leases, process_facts(inventory, queries), viewer);
    *context.out << (options->json ? gpu::to_json(rows).dump(2) + "\n" : gpu::format_gpu_rows(rows));
  });
}

} // namespace launcher::commands
