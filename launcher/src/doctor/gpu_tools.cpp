#include "doctor/gpu_tools.hpp"

#include <limits>

#include "core/error.hpp"
#include "probe_report/format.hpp"

namespace launcher::doctor {

using nlohmann::ordered_json;
using probe_report::ExitCode;

namespace {

probe_report::ProbeStatus probe_status(const std::string& text) {
  if (text == "PASSED") return probe_report::ProbeStatus::passed;
  if (text == "FAILED") return probe_report::ProbeStatus::failed;
  if (text == "WAIVED") return probe_report::ProbeStatus::waived;
  throw std::invalid_argument("unknown probe status \"" + text + "\"");
}

std::vector<probe_report::Fact> facts_of(const ordered_json& object) {
  std::vector<probe_report::Fact> facts;
  for (const auto& [name, value] : object.items())
    facts.push_back({name, value.get<std::string>()});
  return facts;
}

probe_report::ProbeReport probe_of(const ordered_json& probe) {
  probe_report::ProbeReport report{probe.at("name"),
                                   probe.at("description"),
                                   probe_status(probe.at("status")),
                                   probe.at("detail"),
                                   facts_of(probe.at("facts")),
                                   {},
                                   {}};
  for (const auto& measurement : probe.at("measurements")) {
    probe_report::Measurement parsed{measurement.at("name"),
                                     measurement.at("value").is_number() ? measurement["value"].get<double>() : 0.0,
                                     measurement.at("unit"), std::nullopt};
    if (measurement.at("reference").is_object())
      parsed.reference =
          probe_report::Reference{measurement["reference"].at("value"), measurement["reference"].at("source")};
    report.measurements.push_back(parsed);
  }
  for (const auto& check : probe.at("checks"))
    report.checks.push_back(
        {check.at("name"),
         check.at("observed").is_number() ? check["observed"].get<double>() : std::numeric_limits<double>::infinity(),
         check.at("limit")});
  return report;
}

} // namespace

GpuToolRun read_tool_output(const std::string& tool, const std::string& json_text) {
  try {
    ordered_json run = ordered_json::parse(json_text);
    probe_report::RunReport report{
        run.at("tool"), run.at("version"), facts_of(run.at("environment")), std::nullopt, {}};
    if (run.at("no_gpu_reason").is_string()) report.no_gpu_reason = run["no_gpu_reason"].get<std::string>();
    for (const auto& probe : run.at("probes"))
      report.probes.push_back(probe_of(probe));
    return {tool, std::move(report), std::move(run), ""};
  } catch (const std::exception& error) {
    std::string first_line = json_text.substr(0, json_text.find('\n'));
    throw Error(launcher::ExitCode::failed, tool + " --json printed no report the launcher can read (" + error.what() +
                                                "): " + (first_line.empty() ? "(nothing)" : first_line.substr(0, 200)));
  }
}

GpuToolRun run_gpu_tool(const docker::Docker& docker, const std::string& container, const std::string& tool) {
  process::ProcessResult result = docker.try_run({"exec", container, tool, "--json"});
  // Docker's own exit codes: 126 cannot run, 127 not found (the tool's own codes are 0-3).
  if (result.exit_code == 126 || result.exit_code == 127)
    return {tool,
            std::nullopt,
            {},
            tool + " is not in this image" +
                (tool == "gpu-probe" ? std::string(" (CUDA images carry it; CPU images have no CUDA to probe)")
                                     : std::string(" (images built by `launcher build` carry it)"))};
  if (result.exit_code != 0 && result.out.empty())
    throw Error(launcher::ExitCode::failed, docker::explain_failure("run " + tool + " in " + container, result.err));
  return read_tool_output(tool, result.out);
}

std::string format_gpu_tool_runs(const std::vector<GpuToolRun>& runs) {
  std::string text;
  for (const auto& run : runs) {
    text += "\n";
    text += run.report ? probe_report::format_table(*run.report) : run.tool + ": " + run.missing + "\n";
  }
  return text;
}

std::pair<ExitCode, std::string> gpu_tools_verdict(const std::vector<GpuToolRun>& runs, const std::string& env) {
  std::string failed;
  for (const auto& run : runs)
    if (run.report && probe_report::exit_code_for(*run.report) == ExitCode::correctness_failure)
      for (const auto& probe : run.report->probes)
        if (probe.status == probe_report::ProbeStatus::failed)
          failed += (failed.empty() ? "" : ", ") + run.tool + " " + probe.name;
  if (!failed.empty()) return {ExitCode::correctness_failure, "wrong results on the GPU of " + env + ": " + failed};
  for (const auto& run : runs)
    if (run.report && run.report->no_gpu_reason)
      return {ExitCode::no_gpu, "no GPU visible in " + env + ": " + *run.report->no_gpu_reason};
  return {ExitCode::ok, ""};
}

} // namespace launcher::doctor
