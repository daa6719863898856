#include "probe_report/read.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <stdexcept>
#include <string>

namespace probe_report {
namespace {

using nlohmann::ordered_json;

ProbeStatus status_of(const std::string& text) {
  if (std::optional<ProbeStatus> status = status_named(text)) return *status;
  throw std::invalid_argument("unknown probe status \"" + text + "\"");
}

double number_or(const ordered_json& value, double if_null) { return value.is_null() ? if_null : value.get<double>(); }

std::vector<Fact> facts_of(const ordered_json& object) {
  std::vector<Fact> facts;
  for (const auto& [name, value] : object.items())
    facts.push_back({name, value.get<std::string>()});
  return facts;
}

ProbeReport probe_of(const ordered_json& probe) {
  ProbeReport report{probe.at("name"),
                     probe.at("description"),
                     status_of(probe.at("status")),
                     probe.at("detail"),
                     facts_of(probe.at("facts")),
                     {},
                     {}};
  for (const auto& measurement : probe.at("measurements")) {
    Measurement read{measurement.at("name"),
                     number_or(measurement.at("value"), std::numeric_limits<double>::quiet_NaN()),
                     measurement.at("unit"), std::nullopt};
    if (const auto& reference = measurement.at("reference"); !reference.is_null())
      read.reference = Reference{reference.at("value"), reference.at("source")};
    report.measurements.push_back(std::move(read));
  }
  for (const auto& check : probe.at("checks"))
    report.checks.push_back({check.at("name"), number_or(check.at("observed"), std::numeric_limits<double>::infinity()),
                             check.at("limit")});
  return report;
}

} // namespace

RunReport parse_json(std::string_view text) {
  const ordered_json run = ordered_json::parse(text);
  RunReport report{run.at("tool"), run.at("version"), facts_of(run.at("environment")), std::nullopt, {}};
  if (const auto& reason = run.at("no_gpu_reason"); !reason.is_null()) report.no_gpu_reason = reason.get<std::string>();
  for (const auto& probe : run.at("probes"))
    report.probes.push_back(probe_of(probe));
  return report;
}

} // namespace probe_report
