#include "gpu_probe.hpp"

#include "device.hpp"
#include "options.hpp"
#include "probe_report/format.hpp"
#include "probes.hpp"

#include <iostream>

namespace gpu_probe {
namespace {

constexpr const char* tool_name = "gpu-probe";
constexpr const char* tool_version = GPU_PROBE_VERSION;

void print_probe_list(const std::vector<Probe>& registry) {
  for (const Probe& probe : registry) {
    std::cout << probe.name << "\t" << probe.description << "\n";
  }
}

probe_report::RunReport measure(const Options& options, const std::vector<Probe>& selected) {
  probe_report::RunReport run{.tool = tool_name,
                              .version = tool_version,
                              .environment = cuda_version_facts(),
                              .no_gpu_reason = why_no_gpu(),
                              .probes = {}};
  if (run.no_gpu_reason) {
    return run;
  }
  const ProbeContext context{.device = query_device(options.device), .timed_runs = options.timed_runs};
  run.environment.push_back({"device", std::to_string(context.device.index) + ": " + context.device.name});
  for (const Probe& probe : selected) {
    // Progress on stderr: the whole run takes tens of seconds and stdout stays parseable.
    std::cerr << tool_name << ": running " << probe.name << "\n";
    run.probes.push_back(run_probe(probe, context));
  }
  return run;
}

} // namespace

int run(std::span<const std::string_view> arguments) {
  try {
    const Options options = parse_options(arguments);
    if (options.help) {
      std::cout << usage_text();
      return static_cast<int>(probe_report::ExitCode::ok);
    }
    const std::vector<Probe> registry = probe_registry();
    if (options.list) {
      print_probe_list(registry);
      return static_cast<int>(probe_report::ExitCode::ok);
    }
    const probe_report::RunReport report = measure(options, select_probes(registry, options.only));
    std::cout << (options.json ? probe_report::format_json(report) : probe_report::format_table(report));
    return static_cast<int>(probe_report::exit_code_for(report));
  } catch (const UsageError& error) {
    std::cerr << tool_name << ": error: " << error.what() << "\n";
    return static_cast<int>(probe_report::ExitCode::bad_usage);
  } catch (const std::exception& error) {
    std::cerr << tool_name << ": error: " << error.what() << "\n";
    return static_cast<int>(probe_report::ExitCode::correctness_failure);
  }
}

} // namespace gpu_probe
