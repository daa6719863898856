#pragma once

#include "probe.hpp"
#include "probe_report/report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gpu_probe {

// Why no CUDA device is usable (no driver, no device, CUDA_VISIBLE_DEVICES empty), or
// nullopt when at least one is.
[[nodiscard]] std::optional<std::string> why_no_gpu();

// Properties of one visible device; throws UsageError when the index is not visible.
[[nodiscard]] DeviceInfo query_device(int index);

// CUDA runtime and driver versions, readable with or without a GPU.
[[nodiscard]] std::vector<probe_report::Fact> cuda_version_facts();

} // namespace gpu_probe
