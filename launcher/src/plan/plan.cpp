#include "plan/plan.hpp"

#include <sodium.h>

#include <array>

#include "core/field_count.hpp"

namespace launcher::plan {

using nlohmann::json;

// to_json names every member, so the plan hash covers every decision: a member added to one of
// these structs fails here until to_json writes it.
static_assert(field_count<Plan>() == 30, "Plan changed: write the new member in to_json, then update this count");
static_assert(field_count<PortBinding>() == 4 && field_count<Mount>() == 3 && field_count<Ulimit>() == 3 &&
                  field_count<GpuAssignment>() == 2 && field_count<User>() == 4 && field_count<Access>() == 5 &&
                  field_count<SshForwarding>() == 3 && field_count<SelfStop>() == 3 && field_count<Backup>() == 6 &&
                  field_count<Restart>() == 2,
              "a part of Plan changed: write the new member in to_json, then update this count");

json to_json(const Plan& plan) {
  json ports = json::array();
  for (const auto& port : plan.ports)
    ports.push_back({{"bind", port.bind},
                     {"host", port.host_port ? json(*port.host_port) : json("auto")},
                     {"container", port.container_port},
                     {"protocol", name(port.protocol)}});
  json mounts = json::array();
  for (const auto& mount : plan.mounts)
    mounts.push_back({{"source", mount.source}, {"target", mount.target}, {"read_only", mount.read_only}});
  json ulimits = json::object();
  for (const auto& limit : plan.ulimits)
    ulimits[limit.name] = {{"soft", limit.soft}, {"hard", limit.hard}};
  json gpus;
  switch (plan.gpus.kind) {
  case GpuAssignment::Kind::none:
    gpus = "none";
    break;
  case GpuAssignment::Kind::all:
    gpus = "all";
    break;
  case GpuAssignment::Kind::devices:
    gpus = plan.gpus.devices;
    break;
  }
  json resources = json::object();
  if (plan.cpus) resources["cpus"] = *plan.cpus;
  if (plan.memory_bytes) resources["memory"] = *plan.memory_bytes;
  if (plan.pids_limit) resources["pids_limit"] = *plan.pids_limit;
  resources["cpu_shares"] = plan.cpu_shares;
  if (!plan.cpuset_cpus.empty()) resources["cpuset_cpus"] = plan.cpuset_cpus;
  if (!plan.cpuset_mems.empty()) resources["cpuset_mems"] = plan.cpuset_mems;
  json plan_json{
      {"env", plan.env},
      {"profile", plan.profile},
      {"image", plan.image},
      {"service", name(plan.service)},
      {"command", plan.command},
      {"gpus", gpus},
      {"ports", ports},
      {"mounts", mounts},
      {"create_directories", plan.create_directories},
      {"environment", plan.environment},
      {"workdir", plan.workdir},
      {"user", {{"uid", plan.user.uid}, {"gid", plan.user.gid}, {"name", plan.user.name}, {"sudo", plan.user.sudo}}},
      {"access",
       {{"secrets_dir", plan.access.secrets_dir},
        {"jupyter_auth", plan.access.jupyter_auth ? name(*plan.access.jupyter_auth) : ""},
        {"authorized_keys", plan.access.authorized_keys},
        {"ssh_password", plan.access.ssh_password},
        {"ssh_forwarding",
         {{"agent", plan.access.ssh_forwarding.agent},
          {"stream_local", plan.access.ssh_forwarding.stream_local},
          {"user_rc", plan.access.ssh_forwarding.user_rc}}}}},
      {"shm_size", plan.shm_size_bytes},
      {"ipc", name(plan.ipc)},
      {"ulimits", ulimits},
      {"resources", resources},
      {"restart", name(plan.restart)},
      {"labels", plan.labels},
      {"privileged", plan.privileged},
      {"read_only_root", plan.read_only_root},
      {"network", plan.network},
  };
  // Only when set: the plans (and hashes) of envs made before these keys stay as they were.
  if (plan.self_stop.idle_seconds)
    plan_json["idle"] = {{"stop_after", *plan.self_stop.idle_seconds},
                         {"gpu_util_below", plan.self_stop.idle_gpu_util_below}};
  if (plan.gpu_runtime != host::GpuRuntime::nvidia) plan_json["gpu_runtime"] = host::gpu_runtime_name(plan.gpu_runtime);
  if (plan.self_stop.max_age_seconds) plan_json["max_age"] = *plan.self_stop.max_age_seconds;
  if (plan.backup)
    plan_json["backup"] = {{"repository", plan.backup->repository}, {"paths", plan.backup->paths},
                           {"every", plan.backup->every_seconds},   {"keep", plan.backup->keep},
                           {"endpoint", plan.backup->endpoint},     {"credentials", plan.backup->credentials_profile}};
  return plan_json;
}

std::string plan_hash(const Plan& plan) {
  std::string canonical = to_json(plan).dump(); // nlohmann orders object keys: a stable text
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return hex.data();
}

} // namespace launcher::plan
