#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gpu/inventory.hpp"
#include "gpu/selection.hpp"

namespace launcher::gpu {

// A launcher container as `launcher gpus` needs it: from its labels and Docker's state.
struct EnvContainer {
  std::string env;
  std::string profile;
  std::string user; // who the env runs as (its LAUNCHER_USER), the host user for "user": "host"
  unsigned uid = 0;
  std::string id;         // Docker's full container ID, which its processes' cgroups name
  std::string gpus_label; // io.launcher.gpus: "all", "0,1", "none"
  std::string started_at; // Docker's State.StartedAt, RFC 3339
  bool holding = false;   // running (or paused, restarting): only then it holds its GPUs
};

// What the host says of a process on a GPU.
struct ProcessFacts {
  std::optional<unsigned> uid; // from /proc/PID/status; nullopt when it could not be read
  std::string user;            // the name of that uid ("" when it has none)
  std::string cgroup;          // /proc/PID/cgroup: names the container it runs in
};

// The env holding a GPU, as the viewer may see it: another user's env by name and user only.
struct GpuHolding {
  std::string env;
  std::string user;
  std::string since;     // when its container started ("" for another user's env, or a lease)
  std::string profile;   // "" for another user's env, or a lease
  bool starting = false; // a lease in the GPU table: its `up` runs, or its job has not shown yet
};

// A process on a GPU that belongs to no env.
struct ForeignProcess {
  long pid = 0;
  std::string user; // "uid 1003" without a name, "?" when the host did not say
  std::optional<std::uint64_t> used_mib;
};

// One row of `launcher gpus`: a whole GPU, or one MIG device of a GPU in MIG mode.
struct GpuRow {
  int index = 0;
  std::optional<int> mig_index;
  std::string uuid;
  std::string model; // the GPU's name; a MIG device's profile ("MIG 3g.20gb")
  std::optional<std::uint64_t> memory_used_mib, memory_total_mib; // nullopt for a MIG device
  std::string utilization_percent;                                // as nvidia-smi printed it; "" for MIG
  std::vector<GpuHolding> holders;
  std::vector<ForeignProcess> foreign_processes;
};

// The rows, GPU by GPU, each followed by its MIG devices. A GPU is held by each env whose running
// container's io.launcher.gpus names it (by index, UUID, "all"; a MIG device by "GPU:MIG" or its
// UUID) and by each live lease of `leases` whose env has no such container. Processes whose cgroup
// names no env's container are foreign. `viewer_uid` sees its own envs in full.
std::vector<GpuRow> gpu_rows(const GpuInventory& inventory, const std::vector<EnvContainer>& envs,
                             const HolderTable& leases, const std::map<long, ProcessFacts>& processes,
                             unsigned viewer_uid);

// "Uid:\t1003\t1003\t1003\t1003" of /proc/PID/status: the real uid.
std::optional<unsigned> parse_status_uid(std::string_view status);

// The user name of a `getent passwd UID` line ("carol:x:1003:1003::/home/carol:/bin/bash").
std::optional<std::string> parse_passwd_name(std::string_view entry);

// "2026-12-06T09:12:44.123456789Z" as "2026-12-06 09:12 UTC"; other text as it is.
std::string short_time(const std::string& rfc3339);

nlohmann::ordered_json to_json(const std::vector<GpuRow>& rows);

// The human table: one line per row, then one indented line per foreign process. Every text
// from the host or the engine has its control characters escaped.
std::string format_gpu_rows(const std::vector<GpuRow>& rows);

} // namespace launcher::gpu
