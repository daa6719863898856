// Host<->device copies of 1 GiB from pinned and from pageable host memory: the figure behind
// the `pin_memory=True` advice. Pageable copies are staged by the driver through its own
// pinned buffer, which is why they are several times slower.

#include "device_memory.hpp"
#include "metrics.hpp"
#include "nvml.hpp"
#include "probes.hpp"
#include "timing.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace gpu_probe {
namespace {

constexpr std::size_t copy_bytes = std::size_t{1} << 30;

void fill_pattern(std::byte* bytes, std::size_t count) {
  for (std::size_t index = 0; index < count; ++index) {
    bytes[index] = static_cast<std::byte>((index * 2654435761U) >> 13);
  }
}

double count_mismatched_bytes(const std::byte* observed, const std::byte* expected, std::size_t count) {
  std::size_t mismatches = 0;
  for (std::size_t index = 0; index < count; ++index) {
    mismatches += observed[index] != expected[index] ? 1 : 0;
  }
  return static_cast<double>(mismatches);
}

// Copies source -> device -> destination and counts bytes that did not survive the trip.
double round_trip_mismatches(const std::byte* source, std::byte* device, std::byte* destination, std::size_t bytes) {
  std::memset(destination, 0, bytes);
  CUDA_CHECK(cudaMemcpy(device, source, bytes, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(destination, device, bytes, cudaMemcpyDeviceToHost));
  return count_mismatched_bytes(destination, source, bytes);
}

probe_report::ProbeReport measure_copies(const ProbeContext& context) {
  DeviceArray<std::byte> device(copy_bytes);
  PinnedHostBuffer pinned(copy_bytes);
  std::vector<std::byte> pageable(copy_bytes);
  std::vector<std::byte> pageable_copy(copy_bytes);
  fill_pattern(pinned.data(), copy_bytes);
  fill_pattern(pageable.data(), copy_bytes);

  probe_report::ProbeReport report;
  report.checks = {
      {"pinned -> device -> pageable: bytes differing",
       round_trip_mismatches(pinned.data(), device.data(), pageable_copy.data(), copy_bytes), 0.0},
      {"pageable -> device -> pinned: bytes differing",
       round_trip_mismatches(pageable.data(), device.data(), pinned.data(), copy_bytes), 0.0},
  };
  if (probe_report::status_from_checks(report.checks) == probe_report::ProbeStatus::failed) {
    return report;
  }

  auto time_copy = [&](void* destination, const void* source, cudaMemcpyKind kind) {
    const double milliseconds = median_milliseconds(context.timed_runs, [&] {
      CUDA_CHECK(cudaMemcpyAsync(destination, source, copy_bytes, kind, cudaStream_t{}));
    });
    return gigabytes_per_second(static_cast<double>(copy_bytes), milliseconds);
  };
  const double h2d_pinned = time_copy(device.data(), pinned.data(), cudaMemcpyHostToDevice);
  const double h2d_pageable = time_copy(device.data(), pageable.data(), cudaMemcpyHostToDevice);
  const double d2h_pinned = time_copy(pinned.data(), device.data(), cudaMemcpyDeviceToHost);
  const double d2h_pageable = time_copy(pageable.data(), device.data(), cudaMemcpyDeviceToHost);

  std::optional<probe_report::Reference> link_reference;
  const PcieLinkQuery query = query_pcie_link(context.device.pci_bus_id);
  if (query.link) {
    if (const auto rate = pcie_gigabytes_per_second(query.link->max_generation, query.link->max_width)) {
      link_reference = probe_report::Reference{
          *rate, describe_pcie_link(query.link->max_generation, query.link->max_width) + " theoretical"};
    }
  } else {
    report.facts.push_back({"PCIe link", "unknown (" + query.error + ")"});
  }
  report.facts.push_back({"bytes per copy", std::to_string(copy_bytes)});
  report.measurements = {
      {"host->device pinned", h2d_pinned, "GB/s", link_reference},
      {"host->device pageable", h2d_pageable, "GB/s", link_reference},
      {"device->host pinned", d2h_pinned, "GB/s", link_reference},
      {"device->host pageable", d2h_pageable, "GB/s", link_reference},
  };
  return report;
}

} // namespace

Probe make_host_device_copy_probe() {
  return {
      .name = "host-device-copy",
      .description = "1 GiB host<->device copies from pinned and from pageable memory",
      .can_run_here = [](const ProbeContext&) { return Availability::yes(); },
      .run = measure_copies,
  };
}

} // namespace gpu_probe
