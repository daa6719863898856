#include <chrono>
#include <ctime>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor/facts.hpp"
#include "doctor/snapshot.hpp"
#include "lifecycle/inspect.hpp"
#include "render/render.hpp"

namespace launcher::commands {

namespace {

// "3h12m" since Docker's RFC 3339 start time; "-" when not running.
std::string uptime(const nlohmann::json& container) {
  if (!lifecycle::is_running(container)) return "-";
  std::tm started{};
  std::istringstream(container["State"].value("StartedAt", "")) >> std::get_time(&started, "%Y-%m-%dT%H:%M:%S");
  long seconds = static_cast<long>(std::difftime(std::time(nullptr), timegm(&started)));
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h" + std::to_string(seconds % 3600 / 60) + "m";
}

std::string endpoints(const nlohmann::json& container) {
  std::string text;
  for (const auto& endpoint : lifecycle::endpoints_of(container))
    text += fmt::format("{}{}:{}->{}", text.empty() ? "" : ",", endpoint.host_ip, endpoint.host_port, endpoint.container_port);
  return text.empty() ? "-" : text;
}

// A running container with GPUs whose NVML answers "Unknown Error" lost them (a host
// `systemctl daemon-reload`, for one): its status says so, with the fix.
std::string status_with_gpus(const nlohmann::json& container, doctor::HostQueries& queries) {
  std::string status = lifecycle::status_of(container);
  if (!lifecycle::is_running(container) || lifecycle::gpus_of(container) == "-") return status;
  std::string name = container["Name"].get<std::string>().substr(1);
  doctor::ContainerFacts facts{name, true, true, status, queries.container_gpu_list(name)};
  doctor::CheckResult check = doctor::container_check(facts, true);
  return check.status == doctor::Status::fail ? status + ", lost its GPUs: launcher up --recreate" : status;
}

} // namespace

void add_ps_command(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("ps", "list environments (from Docker's labels)");
  command->add_flag("--json", *json, "print them as JSON");
  command->callback([json, &context] {
    docker::Docker docker(context.docker);
    doctor::LiveFactSource live;
    doctor::HostQueries queries(live, context.docker);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& container : docker.containers_labelled(render::label_env))
      list.push_back({{"env", lifecycle::env_of(container)},
                      {"profile", lifecycle::profile_of(container)},
                      {"status", status_with_gpus(container, queries)},
                      {"gpus", lifecycle::gpus_of(container)},
                      {"endpoints", endpoints(container)},
                      {"image", container["Config"].value("Image", "")},
                      {"uptime", uptime(container)}});
    if (*json) {
      *context.out << list.dump(2) << "\n";
      return;
    }
    constexpr const char* row = "{:<24} {:<10} {:<20} {:<6} {:<32} {:<44} {}\n";
    *context.out << fmt::format(row, "ENV", "PROFILE", "STATUS", "GPUS", "ENDPOINTS", "IMAGE", "UP");
    for (const auto& entry : list)
      *context.out << fmt::format(row, entry["env"].get<std::string>(), entry["profile"].get<std::string>(),
                                  entry["status"].get<std::string>(), entry["gpus"].get<std::string>(),
                                  entry["endpoints"].get<std::string>(), entry["image"].get<std::string>(),
                                  entry["uptime"].get<std::string>());
  });
}

} // namespace launcher::commands
