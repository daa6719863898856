#include "probe_report/format.hpp"
#include "probe_report/read.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

using namespace probe_report;

namespace {

RunReport sample_run() {
  ProbeReport hbm{.name = "hbm-bandwidth",
                  .description = "copy \"and\" triad",
                  .status = ProbeStatus::passed,
                  .detail = "",
                  .facts = {{"array bytes", "1073741824"}},
                  .measurements = {{"copy", 2950.0, "GB/s", Reference{3350.0, "datasheet H100 SXM5 80 GB"}},
                                   {"odd", std::numeric_limits<double>::quiet_NaN(), "x", std::nullopt}},
                  .checks = {{"elements differing", 0.0, 0.0}}};
  return {.tool = "gpu-probe",
          .version = "0.1.0",
          .environment = {{"device", "0: NVIDIA H100 80GB HBM3"}},
          .no_gpu_reason = std::nullopt,
          .probes = {hbm, waived("nccl-allreduce", "all-reduce", "built without NCCL\n(tab\there)")}};
}

} // namespace

TEST_CASE("percent of reference", "[report]") {
  CHECK(*percent_of_reference(2950.0, 3350.0) == Approx(88.0597));
  CHECK_FALSE(percent_of_reference(1.0, 0.0).has_value());
  CHECK_FALSE(percent_of_reference(1.0, std::numeric_limits<double>::quiet_NaN()).has_value());
}

TEST_CASE("exit codes: ok, correctness failure, no GPU", "[report]") {
  RunReport run = sample_run();
  CHECK(exit_code_for(run) == ExitCode::ok);
  run.probes[0].status = ProbeStatus::failed;
  CHECK(exit_code_for(run) == ExitCode::correctness_failure);
  run.no_gpu_reason = "cudaErrorNoDevice: no CUDA-capable device is detected";
  CHECK(exit_code_for(run) == ExitCode::no_gpu);
}

TEST_CASE("number formatting", "[report]") {
  CHECK(format_number(2950.04) == "2950.0");
  CHECK(format_number(55.123) == "55.12");
  CHECK(format_number(0.0012345) == "0.00123");
  CHECK(format_number(0.0) == "0");
  CHECK(format_quantity(793.83, "TFLOP/s") == "793.8 TFLOP/s");
}

TEST_CASE("JSON output parses and carries every figure", "[report]") {
  const auto json = nlohmann::json::parse(format_json(sample_run()));
  CHECK(json["tool"] == "gpu-probe");
  CHECK(json["gpu_visible"] == true);
  CHECK(json["no_gpu_reason"].is_null());
  CHECK(json["exit_code"] == 0);
  CHECK(json["environment"]["device"] == "0: NVIDIA H100 80GB HBM3");
  const auto& hbm = json["probes"][0];
  CHECK(hbm["description"] == "copy \"and\" triad");
  CHECK(hbm["status"] == "PASSED");
  CHECK(hbm["facts"]["array bytes"] == "1073741824");
  CHECK(hbm["measurements"][0]["value"] == 2950.0);
  CHECK(hbm["measurements"][0]["reference"]["value"] == 3350.0);
  CHECK(hbm["measurements"][0]["percent_of_reference"].get<double>() == Approx(88.0597));
  CHECK(hbm["measurements"][1]["value"].is_null());
  CHECK(hbm["measurements"][1]["reference"].is_null());
  CHECK(hbm["checks"][0]["passed"] == true);
  CHECK(json["probes"][1]["status"] == "WAIVED");
  CHECK(json["probes"][1]["detail"] == "built without NCCL\n(tab\there)");
}

TEST_CASE("JSON of a run without a GPU", "[report]") {
  RunReport run = sample_run();
  run.probes.clear();
  run.no_gpu_reason = "cudaErrorNoDevice: no CUDA-capable device is detected";
  const auto json = nlohmann::json::parse(format_json(run));
  CHECK(json["gpu_visible"] == false);
  CHECK(json["exit_code"] == 3);
  CHECK(json["no_gpu_reason"] == "cudaErrorNoDevice: no CUDA-capable device is detected");
}

TEST_CASE("table: one row per figure with its share of the reference", "[report]") {
  const std::string table = format_table(sample_run());
  CHECK_THAT(table, Catch::Contains("gpu-probe 0.1.0\n  device: 0: NVIDIA H100 80GB HBM3\n"));
  CHECK_THAT(table, Catch::Contains("PROBE           STATUS  ITEM"));
  CHECK_THAT(table, Catch::Contains("hbm-bandwidth   PASSED  array bytes"));
  CHECK_THAT(table, Catch::Contains("2950.0 GB/s  88.1 %    datasheet H100 SXM5 80 GB 3350.0 GB/s"));
  CHECK_THAT(table, Catch::Contains("check: elements differing  0 <= 0"));
  CHECK_THAT(table, Catch::Contains("nccl-allreduce  WAIVED  built without NCCL (tab here)\n"));
}

TEST_CASE("table of a run without a GPU says so plainly", "[report]") {
  RunReport run = sample_run();
  run.no_gpu_reason = "cudaErrorNoDevice: no CUDA-capable device is detected";
  CHECK(format_table(run) == "gpu-probe 0.1.0\n  device: 0: NVIDIA H100 80GB HBM3\n"
                             "gpu-probe: no GPU: cudaErrorNoDevice: no CUDA-capable device is detected\n");
}

TEST_CASE("parse_json reads back what format_json wrote", "[report]") {
  RunReport run = sample_run();
  run.probes[0].checks.push_back({"max abs error", std::numeric_limits<double>::infinity(), 1e-3});
  const std::string written = format_json(run);
  const RunReport read = parse_json(written);
  CHECK(format_json(read) == written);
  CHECK(format_table(read) == format_table(run));
  // A NaN measurement is written as null and read as NaN; an infinite error stays a failed check.
  CHECK(std::isnan(read.probes[0].measurements[1].value));
  CHECK_FALSE(read.probes[0].checks[1].passed());

  run.no_gpu_reason = "cudaErrorNoDevice: no CUDA-capable device is detected";
  run.probes.clear();
  CHECK(parse_json(format_json(run)).no_gpu_reason == run.no_gpu_reason);
}

TEST_CASE("parse_json names what is missing or unknown", "[report]") {
  CHECK_THROWS_WITH(parse_json(R"({"tool": "gpu-check"})"), Catch::Contains("version"));
  nlohmann::json run = nlohmann::json::parse(format_json(sample_run()));
  run["probes"][0]["status"] = "SKIPPED";
  CHECK_THROWS_WITH(parse_json(run.dump()), "unknown probe status \"SKIPPED\"");
  CHECK_THROWS(parse_json("not json"));
}

TEST_CASE("status names: each status reads back from its name, an unknown name reads as none", "[report]") {
  for (ProbeStatus status : {ProbeStatus::passed, ProbeStatus::failed, ProbeStatus::waived})
    CHECK(probe_report::status_named(probe_report::to_string(status)) == status);
  CHECK(probe_report::to_string(ProbeStatus::waived) == "WAIVED");
  CHECK_FALSE(probe_report::status_named("passed").has_value());
}
