#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor/snapshot.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/backup.hpp"
#include "lifecycle/inspect.hpp"

namespace launcher::commands {

namespace {

// A running container with GPUs whose NVML answers "Unknown Error" lost them (a host
// `systemctl daemon-reload`, for one): its status says so, with the fix.
std::string status_with_gpus(const docker::ListedContainer& container, facts::HostQueries& queries) {
  const std::string& gpus = container.labels.at(contract::label::gpus);
  if (container.state != "running" || gpus.empty() || gpus == "none") return container.status;
  doctor::ContainerFacts facts{
      container.name, true, true, container.status, queries.container_gpu_list(container.name), ""};
  doctor::CheckResult check = doctor::container_check(facts, true);
  return check.status == doctor::Status::fail ? container.status + ", lost its GPUs: launcher up --recreate"
                                              : container.status;
}

// A stopped container says why: launcher-init's own stop ("stopped: idle 2h (...)"), the
// kernel's OOM killer (with the fix), or Docker's status. One inspect each, for stopped containers
// only, so that `ps` of running envs stays one `docker ps`.
struct StoppedStatus {
  std::string status;
  std::string reason; // lifecycle::stop_reason's words; "" when unknown
};

StoppedStatus stopped_status(const docker::ListedContainer& container, const engine::Engine& engine) {
  auto inspect = engine.inspect_container(container.name);
  auto reason = inspect ? lifecycle::stop_reason(*inspect) : std::nullopt;
  if (!reason) return {container.status, ""};
  switch (reason->kind) {
  case lifecycle::StopReason::Kind::stopped_itself:
    return {"stopped: " + reason->text, reason->text};
  case lifecycle::StopReason::Kind::out_of_memory:
    return {container.status + ", " + lifecycle::out_of_memory(*inspect).value_or(reason->text) +
                "; raise resources.memory, then launcher up --recreate",
            reason->text};
  case lifecycle::StopReason::Kind::exited:
    return {container.status, reason->text};
  }
  return {container.status, reason->text};
}

// For an env that backs up: its repository and, while it runs, the last backup's outcome (one
// exec reading launcher-init's status file); null for an env without a backup.
nlohmann::json backup_of(const docker::ListedContainer& container, const engine::Engine& engine) {
  const std::string& repository = container.labels.at(contract::label::backup);
  if (repository.empty()) return nullptr;
  if (container.state != "running") return {{"repository", repository}, {"last", nullptr}, {"summary", "-"}};
  auto status = lifecycle::read_backup_status(engine, container.name);
  long long now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {{"repository", repository},
          {"last", status ? *status : nlohmann::json(nullptr)},
          {"summary", status ? lifecycle::describe_backup_status(*status, now) : "unknown (no status from the env)"}};
}

std::string or_dash(const std::string& text) { return text.empty() || text == "none" ? "-" : text; }

} // namespace

void add_ps_command(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("ps", "list environments (from the engine's labels)");
  command->add_flag("--json", *json, "print them as JSON");
  command->callback([json, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    facts::HostQueries queries(*context.facts, *engine);
    nlohmann::json list = nlohmann::json::array();
    // One `docker ps`, labels included: no inspect, so `ps` stays fast with many environments.
    const std::vector<std::string> labels{contract::label::env, contract::label::profile, contract::label::gpus,
                                          contract::label::backup};
    for (const auto& container : engine->list_labelled(contract::label::env, labels)) {
      // A container run by hand from a snapshot carries the label, blanked: no environment.
      if (container.labels.at(contract::label::env).empty()) continue;
      StoppedStatus stopped = container.state == "running" ? StoppedStatus{status_with_gpus(container, queries), ""}
                                                           : stopped_status(container, *engine);
      list.push_back({{"env", container.labels.at(contract::label::env)},
                      {"profile", container.labels.at(contract::label::profile)},
                      {"state", container.state},
                      {"status", stopped.status},
                      {"stop_reason", stopped.reason},
                      {"gpus", or_dash(container.labels.at(contract::label::gpus))},
                      {"endpoints", or_dash(container.ports)},
                      {"image", container.image},
                      {"backup", backup_of(container, *engine)},
                      {"engine", engine->name()}});
    }
    if (*json) {
      *context.out << list.dump(2) << "\n";
      return;
    }
    // The BACKUP column only when an env backs up: the table of everyone else stays as it was.
    bool any_backup =
        std::any_of(list.begin(), list.end(), [](const auto& entry) { return !entry["backup"].is_null(); });
    constexpr const char* row = "{:<24} {:<10} {:<28} {:<6} {:<32} {}";
    *context.out << fmt::format(row, "ENV", "PROFILE", "STATUS", "GPUS", "ENDPOINTS", "IMAGE")
                 << (any_backup ? "  BACKUP" : "") << "\n";
    // Every field is the engine's text: an escape sequence in a name or label is shown, not run.
    auto field = [](const nlohmann::json& value) { return escape_control_characters(value.get<std::string>()); };
    for (const auto& entry : list) {
      *context.out << fmt::format(row, field(entry["env"]), field(entry["profile"]), field(entry["status"]),
                                  field(entry["gpus"]), field(entry["endpoints"]), field(entry["image"]));
      if (any_backup) *context.out << "  " << (entry["backup"].is_null() ? "-" : field(entry["backup"]["summary"]));
      *context.out << "\n";
    }
  });
}

} // namespace launcher::commands
