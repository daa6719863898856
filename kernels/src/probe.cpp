#include "probe.hpp"

#include "options.hpp"

#include <algorithm>
#include <exception>

namespace gpu_probe {

std::vector<Probe> select_probes(const std::vector<Probe>& registry, const std::vector<std::string>& only) {
  for (const std::string& name : only) {
    if (std::ranges::find(registry, name, &Probe::name) == registry.end()) {
      std::string known;
      for (const Probe& probe : registry) {
        known += (known.empty() ? "" : ", ") + std::string(probe.name);
      }
      throw UsageError("--only: unknown probe '" + name + "' (known: " + known + ")");
    }
  }
  std::vector<Probe> selected;
  std::ranges::copy_if(registry, std::back_inserter(selected), [&](const Probe& probe) {
    return only.empty() || std::ranges::find(only, probe.name) != only.end();
  });
  return selected;
}

probe_report::ProbeReport run_probe(const Probe& probe, const ProbeContext& context) {
  const std::string name(probe.name);
  const std::string description(probe.description);
  const Availability availability = probe.can_run_here(context);
  if (!availability.can_run) {
    return probe_report::waived(name, description, availability.reason);
  }
  try {
    probe_report::ProbeReport report = probe.run(context);
    report.name = name;
    report.description = description;
    if (report.status == probe_report::ProbeStatus::passed) {
      report.status = probe_report::status_from_checks(report.checks);
    }
    return report;
  } catch (const std::exception& error) {
    return probe_report::failed(name, description, error.what());
  }
}

} // namespace gpu_probe
