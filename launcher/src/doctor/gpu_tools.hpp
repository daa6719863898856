#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "probe_report/report.hpp"

namespace launcher::doctor {

// The image's own GPU programs, run by `doctor --gpu ENV` inside the env's container.
inline const std::vector<std::string> gpu_tools{"gpu-check", "gpu-probe"};

// One tool's run: its report, or why there is none (not in the image).
struct GpuToolRun {
  std::string tool;
  std::optional<probe_report::RunReport> report;
  nlohmann::ordered_json json; // the tool's own JSON, as it printed it
  std::string missing;         // set when the image does not carry the tool
};

// Pure: what `<tool> --json` printed, read once into the report it stands for and kept as its
// own JSON; an error naming the tool when it is no report.
GpuToolRun read_tool_output(const std::string& tool, const std::string& json_text);

// `TOOL --json` run in the container by the engine.
GpuToolRun run_gpu_tool(const engine::Engine& engine, const std::string& container, const std::string& tool);

// Pure: the text `doctor --gpu` prints for the runs: each tool's table, or why it is missing.
std::string format_gpu_tool_runs(const std::vector<GpuToolRun>& runs);

// Pure: ok, failed (a correctness failure) or host_incapable (no GPU), with the line that says so.
std::pair<probe_report::ExitCode, std::string> gpu_tools_verdict(const std::vector<GpuToolRun>& runs,
                                                                 const std::string& env);

} // namespace launcher::doctor
