// Stands in for nccl_allreduce.cu when CMake found no NCCL, so the registry keeps the probe
// and reports it WAIVED with the reason, instead of the probe silently disappearing.

#include "probes.hpp"

namespace gpu_probe {

namespace {
constexpr const char* reason = "gpu-probe was built without NCCL (nccl.h or libnccl.so not found by CMake)";
}

Probe make_nccl_allreduce_probe() {
  return {
      .name = "nccl-allreduce",
      .description = "NCCL all-reduce over all visible GPUs (not built)",
      .can_run_here = [](const ProbeContext&) { return Availability::no(reason); },
      .run = [](const ProbeContext&) { return probe_report::waived("", "", reason); },
  };
}

} // namespace gpu_probe
