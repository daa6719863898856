#pragma once

// The probe contract (after nvbandwidth's testcases): each probe is a name, a description,
// a test of whether it can run on this machine, and a run that returns a report. A probe that
// cannot run is reported WAIVED, never skipped silently and never failed.

#include "datasheet.hpp"
#include "probe_report/report.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpu_probe {

struct DeviceInfo {
  int index = 0;
  int visible_device_count = 0;
  std::string name;
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
  int multiprocessor_count = 0;
  std::size_t global_memory_bytes = 0;
  std::size_t l2_cache_bytes = 0;
  int memory_bus_width_bits = 0;
  std::string pci_bus_id;
  std::optional<GpuDatasheet> datasheet;
};

struct ProbeContext {
  DeviceInfo device;
  int timed_runs = 0;
};

struct Availability {
  bool can_run = true;
  std::string reason; // why not, when it cannot

  static Availability yes() { return {}; }
  static Availability no(std::string reason) { return {false, std::move(reason)}; }
  // Whether a probe's `needed` bytes fit in the `usable` part of device memory; `per` ends the
  // reason (" per GPU").
  static Availability if_memory_fits(std::size_t needed, std::size_t usable, std::string_view per = "") {
    if (needed <= usable) return yes();
    return no("needs " + std::to_string(needed >> 20) + " MiB of device memory" + std::string(per));
  }
};

struct Probe {
  std::string_view name;
  std::string_view description;
  std::function<Availability(const ProbeContext&)> can_run_here;
  // Fills facts, measurements and checks; throws on a CUDA or library error.
  std::function<probe_report::ProbeReport(const ProbeContext&)> run;
};

// The probes named in `only`, in registry order (all of them when `only` is empty); throws
// UsageError naming an unknown probe.
[[nodiscard]] std::vector<Probe> select_probes(const std::vector<Probe>& registry,
                                               const std::vector<std::string>& only);

// Runs one probe under the contract: WAIVED when it cannot run here, FAILED with the error
// message when it throws, otherwise its own report: FAILED when the probe said so or when
// one of its checks failed.
[[nodiscard]] probe_report::ProbeReport run_probe(const Probe& probe, const ProbeContext& context);

} // namespace gpu_probe
