// The PCIe link as NVML reports it, beside the copy figures it explains: a Gen5 x16 card in a
// Gen4 slot, or a link trained down to fewer lanes, caps host<->device copies.

#include "metrics.hpp"
#include "nvml.hpp"
#include "probe_report/format.hpp"
#include "probes.hpp"

namespace gpu_probe {

Probe make_pcie_link_probe() {
  return {
      .name = "pcie-link",
      .description = "PCIe link generation and width through NVML (current and maximum)",
      .can_run_here =
          [](const ProbeContext& context) {
            const PcieLinkQuery query = query_pcie_link(context.device.pci_bus_id);
            return query.link ? Availability::yes() : Availability::no(query.error);
          },
      .run =
          [](const ProbeContext& context) {
            const PcieLinkQuery query = query_pcie_link(context.device.pci_bus_id);
            if (!query.link) {
              return probe_report::failed("", "", query.error);
            }
            const PcieLink& link = *query.link;
            const auto max_rate = pcie_gigabytes_per_second(link.max_generation, link.max_width);
            probe_report::ProbeReport report;
            report.facts = {
                {"current link", describe_pcie_link(link.current_generation, link.current_width) +
                                     " (read after the copies; an idle link may train down)"},
                {"maximum link", describe_pcie_link(link.max_generation, link.max_width)},
                {"theoretical per direction",
                 max_rate ? probe_report::format_quantity(*max_rate, "GB/s") : "unknown generation"},
            };
            return report;
          },
  };
}

} // namespace gpu_probe
