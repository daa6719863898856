#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/choices.hpp"

namespace launcher::lifecycle {

// What `docker inspect` of an environment's container says, in the launcher's terms. Pure.
// A field these read that is missing or malformed is an Error naming the command and the field.

struct Endpoint {
  int container_port = 0;
  plan::Protocol protocol = plan::Protocol::tcp;
  std::string host_ip;
  int host_port = 0;
};

std::string env_of(const nlohmann::json& container);
std::string name_of(const nlohmann::json& container); // without Docker's leading "/"
std::string profile_of(const nlohmann::json& container);
std::string plan_hash_of(const nlohmann::json& container);
std::string project_dir_of(const nlohmann::json& container); // "" for an env made before the label
std::string status_of(const nlohmann::json& container);      // "running (healthy)", "exited (1)", ...
bool is_running(const nlohmann::json& container);
std::string id_of(const nlohmann::json& container);         // the full container ID
std::string started_at_of(const nlohmann::json& container); // State.StartedAt, RFC 3339; "" if never
std::string state_of(const nlohmann::json& container);      // State.Status: "running", "exited", ...
std::string gpus_label_of(const nlohmann::json& container); // io.launcher.gpus: "all", "0,1", "none"
// Docker's State.OOMKilled (set when the kernel's OOM killer ended any process of the container,
// PID 1 or not), said with the memory limit; nullopt when it did not.
std::optional<std::string> out_of_memory(const nlohmann::json& container);
// Why a stopped container stopped, in `ps`'s words: "idle 2h (no kernel busy, GPU 0 util < 5%)" or
// "max_age 72h" when launcher-init stopped it (its exit status, read with the settings and GPU
// label the container was started with), "out of memory", or "exited 1". nullopt while it runs.
struct StopReason {
  enum class Kind { stopped_itself, out_of_memory, exited };
  Kind kind = Kind::exited;
  std::string text;
};
std::optional<StopReason> stop_reason(const nlohmann::json& container);
std::vector<Endpoint> endpoints_of(const nlohmann::json& container);
std::optional<Endpoint> endpoint_for(const nlohmann::json& container, int container_port);
std::string gpus_of(const nlohmann::json& container); // "all", "0,1", "-"
std::string env_variable(const nlohmann::json& container, const std::string& name);
std::vector<std::string> mount_targets_of(const nlohmann::json& container); // where volumes are mounted

// Loopback when the port is published on every address: that is where this host reaches it.
std::string reachable_host(const Endpoint& endpoint);

// The top-level fields whose values differ between two plans (the resources field by field), with
// both values, one per line; byte sizes in Docker's size syntax ("2g -> 3g").
std::vector<std::string> plan_differences(const nlohmann::json& old_plan, const nlohmann::json& new_plan);

} // namespace launcher::lifecycle
