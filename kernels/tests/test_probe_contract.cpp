#include "options.hpp"
#include "probe.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace gpu_probe;
using probe_report::ProbeStatus;

namespace {

Probe fake_probe(std::string_view name, Availability availability, std::vector<probe_report::Check> checks) {
  return {.name = name,
          .description = "a fake probe",
          .can_run_here = [availability](const ProbeContext&) { return availability; },
          .run =
              [checks](const ProbeContext&) {
                probe_report::ProbeReport report;
                report.checks = checks;
                return report;
              }};
}

const ProbeContext context{};

} // namespace

TEST_CASE("probe contract: a probe that cannot run is WAIVED with its reason, not run", "[probe]") {
  Probe probe = fake_probe("nccl", Availability::no("built without NCCL"), {});
  probe.run = [](const ProbeContext&) -> probe_report::ProbeReport { throw std::logic_error("must not run"); };
  const auto report = run_probe(probe, context);
  CHECK(report.status == ProbeStatus::waived);
  CHECK(report.detail == "built without NCCL");
  CHECK(report.name == "nccl");
}

TEST_CASE("probe contract: a probe runs where its memory fits, and says how much it needs", "[probe]") {
  constexpr std::size_t mib = 1 << 20;
  CHECK(Availability::if_memory_fits(512 * mib, 512 * mib).can_run);
  const Availability too_big = Availability::if_memory_fits(513 * mib, 512 * mib, " per GPU");
  CHECK_FALSE(too_big.can_run);
  CHECK(too_big.reason == "needs 513 MiB of device memory per GPU");
}

TEST_CASE("probe contract: status follows the checks", "[probe]") {
  CHECK(run_probe(fake_probe("ok", Availability::yes(), {{"error", 0.001, 0.01}}), context).status ==
        ProbeStatus::passed);
  CHECK(
      run_probe(fake_probe("bad", Availability::yes(), {{"error", 0.1, 0.01}, {"other", 0.0, 0.0}}), context).status ==
      ProbeStatus::failed);
}

TEST_CASE("probe contract: an error thrown by a probe fails it with the message", "[probe]") {
  Probe probe = fake_probe("gemm", Availability::yes(), {});
  probe.run = [](const ProbeContext&) -> probe_report::ProbeReport {
    throw std::runtime_error("cudaMalloc(&data_, bytes()) failed: cudaErrorMemoryAllocation (x.cu:1)");
  };
  const auto report = run_probe(probe, context);
  CHECK(report.status == ProbeStatus::failed);
  CHECK(report.detail == "cudaMalloc(&data_, bytes()) failed: cudaErrorMemoryAllocation (x.cu:1)");
}

TEST_CASE("probe contract: a probe's own FAILED stands even without failed checks", "[probe]") {
  Probe probe = fake_probe("pcie", Availability::yes(), {});
  probe.run = [](const ProbeContext&) { return probe_report::failed("", "", "NVML went away"); };
  CHECK(run_probe(probe, context).status == ProbeStatus::failed);
}

TEST_CASE("select_probes keeps registry order and rejects unknown names", "[probe]") {
  const std::vector<Probe> registry{fake_probe("a", Availability::yes(), {}), fake_probe("b", Availability::yes(), {}),
                                    fake_probe("c", Availability::yes(), {})};
  CHECK(select_probes(registry, {}).size() == 3);
  const auto selected = select_probes(registry, {"c", "a"});
  REQUIRE(selected.size() == 2);
  CHECK(selected[0].name == "a");
  CHECK(selected[1].name == "c");
  CHECK_THROWS_WITH(select_probes(registry, {"d"}), "--only: unknown probe 'd' (known: a, b, c)");
}
