#include "probe_report/report.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace probe_report {
namespace {

// Each status with the name reports carry: the writer and the reader both go by this table.
constexpr std::array<std::pair<ProbeStatus, std::string_view>, 3> status_names{{
    {ProbeStatus::passed, "PASSED"},
    {ProbeStatus::failed, "FAILED"},
    {ProbeStatus::waived, "WAIVED"},
}};

} // namespace

std::string_view to_string(ProbeStatus status) {
  const auto* entry = std::ranges::find(status_names, status, &std::pair<ProbeStatus, std::string_view>::first);
  return entry != status_names.end() ? entry->second : "UNKNOWN";
}

std::optional<ProbeStatus> status_named(std::string_view name) {
  const auto* entry = std::ranges::find(status_names, name, &std::pair<ProbeStatus, std::string_view>::second);
  return entry != status_names.end() ? std::optional(entry->first) : std::nullopt;
}

ProbeStatus status_from_checks(const std::vector<Check>& checks) {
  const bool all_passed = std::ranges::all_of(checks, [](const Check& check) { return check.passed(); });
  return all_passed ? ProbeStatus::passed : ProbeStatus::failed;
}

ProbeReport waived(std::string name, std::string description, std::string reason) {
  return {.name = std::move(name),
          .description = std::move(description),
          .status = ProbeStatus::waived,
          .detail = std::move(reason),
          .facts = {},
          .measurements = {},
          .checks = {}};
}

ProbeReport failed(std::string name, std::string description, std::string reason) {
  ProbeReport report = waived(std::move(name), std::move(description), std::move(reason));
  report.status = ProbeStatus::failed;
  return report;
}

ExitCode exit_code_for(const RunReport& run) {
  if (run.no_gpu_reason) {
    return ExitCode::no_gpu;
  }
  const bool any_failed =
      std::ranges::any_of(run.probes, [](const ProbeReport& probe) { return probe.status == ProbeStatus::failed; });
  return any_failed ? ExitCode::correctness_failure : ExitCode::ok;
}

std::optional<double> percent_of_reference(double value, double reference) {
  if (!(reference > 0.0)) {
    return std::nullopt;
  }
  return 100.0 * value / reference;
}

} // namespace probe_report
