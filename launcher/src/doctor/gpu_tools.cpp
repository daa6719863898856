#include "doctor/gpu_tools.hpp"

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "probe_report/format.hpp"
#include "probe_report/read.hpp"

namespace launcher::doctor {

using nlohmann::ordered_json;
using probe_report::ExitCode;

GpuToolRun read_tool_output(const std::string& tool, const std::string& json_text) {
  try {
    return {tool, probe_report::parse_json(json_text), ordered_json::parse(json_text), ""};
  } catch (const std::exception& error) {
    std::string first_line = json_text.substr(0, json_text.find('\n'));
    throw Error(launcher::ExitCode::failed, tool + " --json printed no report the launcher can read (" +
                                                launcher::json_error_text(error) +
                                                "): " + (first_line.empty() ? "(nothing)" : first_line.substr(0, 200)));
  }
}

GpuToolRun run_gpu_tool(const engine::Engine& engine, const std::string& container, const std::string& tool) {
  process::ProcessResult result = engine.exec(container, engine::ExecAs{}, {tool, "--json"});
  // The engine's own exit codes: 126 cannot run, 127 not found (the tool's own codes are 0-3).
  if (result.exit_code == 126 || result.exit_code == 127)
    return {tool,
            std::nullopt,
            {},
            tool + " is not in this image" +
                (tool == "gpu-probe"
                     ? std::string(" (built only where the image has nvcc: the devel variant, "
                                   "`launcher build --variant devel`; CPU images have no CUDA to probe)")
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
