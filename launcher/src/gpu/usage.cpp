#include "gpu/usage.hpp"

#include <charconv>

#include <fmt/format.h>

#include "core/text.hpp"

namespace launcher::gpu {

using nlohmann::ordered_json;

namespace {

// Whether one device of an io.launcher.gpus label names this GPU row (a MIG device only by
// its own names: "0:1" or its MIG UUID).
bool names_row(const std::string& device, const Gpu& gpu, const MigDevice* mig) {
  if (mig) return device == mig->uuid || device == std::to_string(gpu.index) + ":" + std::to_string(mig->index);
  return device == "all" || device == gpu.uuid || device == std::to_string(gpu.index);
}

bool label_names_row(const std::string& label, const Gpu& gpu, const MigDevice* mig) {
  for (const auto& device : split(label, ','))
    if (names_row(device, gpu, mig)) return true;
  return false;
}

GpuHolding holding_of(const EnvContainer& env, unsigned viewer_uid) {
  bool own = env.uid == viewer_uid;
  return {env.env, env.user, own ? short_time(env.started_at) : "", own ? env.profile : "", false};
}

// The container whose ID this cgroup file names, if any.
const EnvContainer* container_of(const ProcessFacts& facts, const std::vector<EnvContainer>& envs) {
  for (const auto& env : envs)
    if (!env.id.empty() && facts.cgroup.find(env.id) != std::string::npos) return &env;
  return nullptr;
}

std::string user_of(const ProcessFacts* facts) {
  if (!facts || !facts->uid) return "?";
  return facts->user.empty() ? "uid " + std::to_string(*facts->uid) : facts->user;
}

GpuRow row_of(const Gpu& gpu, const MigDevice* mig, const std::vector<EnvContainer>& envs, const HolderTable& leases,
              unsigned viewer_uid) {
  GpuRow row;
  row.index = gpu.index;
  if (mig) {
    row.mig_index = mig->index;
    row.uuid = mig->uuid;
    row.model = "MIG " + mig->profile;
  } else {
    row.uuid = gpu.uuid;
    row.model = gpu.name;
    row.memory_used_mib = gpu.memory_used_mib;
    row.memory_total_mib = gpu.memory_total_mib;
    row.utilization_percent = gpu.utilization_percent;
  }
  for (const auto& env : envs)
    if (env.holding && label_names_row(env.gpus_label, gpu, mig)) row.holders.push_back(holding_of(env, viewer_uid));
  if (mig) return row;
  if (auto lease = leases.find(gpu.uuid); lease != leases.end()) {
    const GpuHolder& holder = lease->second;
    bool shown = false;
    for (const auto& holding : row.holders)
      shown = shown || holding.env == holder.env;
    if (!shown) row.holders.push_back({holder.env, holder.user, "", "", true});
  }
  return row;
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : escape_control_characters(text); }

std::string memory_text(const GpuRow& row) {
  if (!row.memory_used_mib || !row.memory_total_mib) return "-";
  return fmt::format("{}/{} MiB", *row.memory_used_mib, *row.memory_total_mib);
}

std::string utilization_text(const std::string& percent) {
  if (percent.empty()) return "-";
  bool number = percent.find_first_not_of("0123456789") == std::string::npos;
  return number ? percent + "%" : escape_control_characters(percent);
}

std::string index_text(const GpuRow& row) {
  return std::to_string(row.index) + (row.mig_index ? ":" + std::to_string(*row.mig_index) : "");
}

} // namespace

std::vector<GpuRow> gpu_rows(const GpuInventory& inventory, const std::vector<EnvContainer>& envs,
                             const HolderTable& leases, const std::map<long, ProcessFacts>& processes,
                             unsigned viewer_uid) {
  std::vector<GpuRow> rows;
  for (const auto& gpu : inventory.gpus) {
    GpuRow row = row_of(gpu, nullptr, envs, leases, viewer_uid);
    for (const auto& process : inventory.processes_on(gpu)) {
      auto facts = processes.find(process.pid);
      const ProcessFacts* known = facts == processes.end() ? nullptr : &facts->second;
      if (known && container_of(*known, envs)) continue;
      row.foreign_processes.push_back({process.pid, user_of(known), process.used_mib});
    }
    rows.push_back(std::move(row));
    for (const auto& mig : gpu.mig_devices)
      rows.push_back(row_of(gpu, &mig, envs, leases, viewer_uid));
  }
  return rows;
}

std::optional<unsigned> parse_status_uid(std::string_view status) {
  for (const auto& line : split(status, '\n')) {
    if (!starts_with(line, "Uid:")) continue;
    std::string_view rest = std::string_view(line).substr(4);
    std::size_t start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    unsigned uid = 0;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), uid);
    if (error != std::errc() || end == rest.data()) return std::nullopt;
    return uid;
  }
  return std::nullopt;
}

std::optional<std::string> parse_passwd_name(std::string_view entry) {
  std::size_t colon = entry.find(':');
  if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
  return std::string(entry.substr(0, colon));
}

std::string short_time(const std::string& rfc3339) {
  // 2026-12-06T09:12:44.123456789Z
  if (rfc3339.size() < 17 || rfc3339[10] != 'T' || rfc3339.back() != 'Z') return rfc3339;
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 5) + " UTC";
}

ordered_json to_json(const std::vector<GpuRow>& rows) {
  ordered_json list = ordered_json::array();
  for (const auto& row : rows) {
    ordered_json holders = ordered_json::array();
    for (const auto& holder : row.holders)
      holders.push_back({{"env", holder.env},
                         {"user", holder.user},
                         {"since", holder.since.empty() ? ordered_json() : ordered_json(holder.since)},
                         {"profile", holder.profile.empty() ? ordered_json() : ordered_json(holder.profile)},
                         {"state", holder.starting ? "starting" : "running"}});
    ordered_json foreign = ordered_json::array();
    for (const auto& process : row.foreign_processes)
      foreign.push_back({{"pid", process.pid},
                         {"user", process.user},
                         {"used_mib", process.used_mib ? ordered_json(*process.used_mib) : ordered_json()}});
    auto optional = [](const std::optional<std::uint64_t>& value) {
      return value ? ordered_json(*value) : ordered_json();
    };
    list.push_back({{"index", row.index},
                    {"mig_index", row.mig_index ? ordered_json(*row.mig_index) : ordered_json()},
                    {"uuid", row.uuid},
                    {"model", row.model},
                    {"memory_used_mib", optional(row.memory_used_mib)},
                    {"memory_total_mib", optional(row.memory_total_mib)},
                    {"utilization_percent",
                     row.utilization_percent.empty() ? ordered_json() : ordered_json(row.utilization_percent)},
                    {"envs", holders},
                    {"foreign_processes", foreign}});
  }
  return {{"gpus", list}};
}

std::string format_gpu_rows(const std::vector<GpuRow>& rows) {
  constexpr const char* line = "{:<5} {:<40} {:<22} {:<17} {:<5} {:<20} {:<10} {:<20} {}\n";
  std::string text = fmt::format(line, "GPU", "UUID", "MODEL", "MEMORY", "UTIL", "ENV", "USER", "SINCE", "PROFILE");
  for (const auto& row : rows) {
    std::string gpu[] = {index_text(row), or_dash(row.uuid), or_dash(row.model), memory_text(row),
                         utilization_text(row.utilization_percent)};
    if (row.holders.empty()) text += fmt::format(line, gpu[0], gpu[1], gpu[2], gpu[3], gpu[4], "-", "-", "-", "-");
    for (std::size_t i = 0; i < row.holders.size(); ++i) {
      const GpuHolding& holder = row.holders[i];
      std::string env = escape_control_characters(holder.env) + (holder.starting ? " (starting)" : "");
      if (i == 0)
        text += fmt::format(line, gpu[0], gpu[1], gpu[2], gpu[3], gpu[4], env, or_dash(holder.user),
                            or_dash(holder.since), or_dash(holder.profile));
      else
        text += fmt::format(line, "", "", "", "", "", env, or_dash(holder.user), or_dash(holder.since),
                            or_dash(holder.profile));
    }
    for (const auto& process : row.foreign_processes)
      text += fmt::format("      process {} of {}: {}, in no launcher env\n", process.pid,
                          escape_control_characters(process.user),
                          process.used_mib ? std::to_string(*process.used_mib) + " MiB" : "memory unknown");
  }
  return text;
}

} // namespace launcher::gpu
