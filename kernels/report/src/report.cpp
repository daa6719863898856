#include "probe_report/report.hpp"

#include <algorithm>

namespace probe_report {

std::string_view to_string(ProbeStatus status) {
  switch (status) {
  case ProbeStatus::passed:
    return "PASSED";
  case ProbeStatus::failed:
    return "FAILED";
  case ProbeStatus::waived:
    return "WAIVED";
  }
  return "UNKNOWN";
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
