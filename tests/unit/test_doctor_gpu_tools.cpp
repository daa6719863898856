#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "doctor/gpu_tools.hpp"
#include "engine/docker_engine.hpp"
#include "engine/podman_engine.hpp"
#include "fake_docker.hpp"
#include "probe_report/format.hpp"

using namespace launcher;
using ToolExit = probe_report::ExitCode;

namespace {

// Printed by this repository's gpu-check and gpu-probe on the CI machine (no GPU, no driver).
const char* gpu_check_no_gpu =
    R"j({"tool":"gpu-check","version":"0.1.0","environment":{"LibTorch":"1.13.0","LibTorch built with CUDA":"no","CUDA available":"no",)j"
    R"j("CUDA device count":"0"},"gpu_visible":false,"no_gpu_reason":"this LibTorch was built without CUDA (CPU only)","exit_code":3,"probes":[]})j";
const char* gpu_probe_no_driver =
    R"({"tool":"gpu-probe","version":"0.1.0","environment":{"CUDA runtime":"13.0","CUDA driver API":"no driver found"},"gpu_visible":false,)"
    R"("no_gpu_reason":"cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version","exit_code":3,"probes":[]})";

probe_report::RunReport measured_run(double gemm_error) {
  probe_report::ProbeReport hbm{"hbm-bandwidth",
                                "HBM copy and triad",
                                probe_report::ProbeStatus::passed,
                                "",
                                {{"working set", "400 MiB"}},
                                {{"copy", 3010.5, "GB/s", probe_report::Reference{3350, "H100 SXM datasheet"}}},
                                {{"max relative error", 0, 0}}};
  probe_report::ProbeReport gemm{"gemm-bf16",
                                 "cuBLASLt BF16 8192^3",
                                 probe_report::ProbeStatus::passed,
                                 "",
                                 {},
                                 {{"throughput", 702.0, "TFLOP/s", std::nullopt}},
                                 {{"relative error vs FP64", gemm_error, 0.01}}};
  gemm.status = probe_report::status_from_checks(gemm.checks);
  probe_report::ProbeReport nccl =
      probe_report::waived("nccl-allreduce", "NCCL all-reduce", "NCCL was not found at build time");
  return {"gpu-probe",
          "0.1.0",
          {{"GPU", "NVIDIA H100 80GB HBM3"}, {"driver", "570.124.06"}},
          std::nullopt,
          {hbm, gemm, nccl}};
}

doctor::GpuToolRun run_of(const probe_report::RunReport& report) { return {report.tool, report, {}, ""}; }

} // namespace

TEST_CASE("doctor --gpu reads the tools' JSON back into the report they printed", "[doctor][gpu-tools]") {
  probe_report::RunReport original = measured_run(0.002);
  probe_report::RunReport parsed = *doctor::read_tool_output("gpu-probe", probe_report::format_json(original)).report;
  // The same table from the parsed report as from the tool's own: nothing lost, order kept.
  CHECK(probe_report::format_table(parsed) == probe_report::format_table(original));
  CHECK(probe_report::format_json(parsed) == probe_report::format_json(original));

  probe_report::RunReport no_gpu = *doctor::read_tool_output("gpu-check", gpu_check_no_gpu).report;
  CHECK(no_gpu.no_gpu_reason == "this LibTorch was built without CUDA (CPU only)");
  // `doctor --gpu --json` passes on what the tool printed, in its order.
  CHECK(doctor::read_tool_output("gpu-check", gpu_check_no_gpu).json.dump() == gpu_check_no_gpu);
  CHECK(probe_report::format_table(no_gpu) == "gpu-check 0.1.0\n  LibTorch: 1.13.0\n  LibTorch built with CUDA: no\n"
                                              "  CUDA available: no\n  CUDA device count: 0\n"
                                              "gpu-check: no GPU: this LibTorch was built without CUDA (CPU only)\n");
}

TEST_CASE("a tool's output that is no report is an error naming the tool", "[doctor][gpu-tools]") {
  CHECK_THROWS_WITH(doctor::read_tool_output("gpu-probe", "Segmentation fault\n"),
                    Catch::StartsWith("gpu-probe --json printed no report the launcher can read (") &&
                        Catch::EndsWith("): Segmentation fault"));
  CHECK_THROWS_WITH(doctor::read_tool_output("gpu-check", ""), Catch::EndsWith("): (nothing)"));
  CHECK_THROWS_WITH(doctor::read_tool_output("gpu-check", R"({"tool":"gpu-check"})"),
                    Catch::StartsWith("gpu-check --json printed no report the launcher can read ("));
}

TEST_CASE("doctor --gpu prints each table, says which tool is missing, and exits by the worst result",
          "[doctor][gpu-tools]") {
  doctor::GpuToolRun missing{"gpu-probe",
                             std::nullopt,
                             {},
                             "gpu-probe is not in this image (built only where the image has nvcc: the devel variant, "
                             "`launcher build --variant devel`; CPU images have no CUDA to probe)"};
  std::vector<doctor::GpuToolRun> cpu_image{doctor::read_tool_output("gpu-check", gpu_check_no_gpu), missing};
  CHECK(doctor::format_gpu_tool_runs(cpu_image) ==
        "\n" + probe_report::format_table(*cpu_image[0].report) +
            "\ngpu-probe: gpu-probe is not in this image (built only where the image has nvcc: the devel variant, "
            "`launcher build --variant devel`; CPU images have no CUDA to probe)\n");
  CHECK(doctor::gpu_tools_verdict(cpu_image, "lab") ==
        std::pair<ToolExit, std::string>{ToolExit::no_gpu,
                                         "no GPU visible in lab: this LibTorch was built without CUDA (CPU only)"});

  std::vector<doctor::GpuToolRun> no_driver{doctor::read_tool_output("gpu-probe", gpu_probe_no_driver)};
  CHECK(doctor::gpu_tools_verdict(no_driver, "lab").first == ToolExit::no_gpu);

  CHECK(doctor::gpu_tools_verdict({run_of(measured_run(0.002))}, "lab") ==
        std::pair<ToolExit, std::string>{ToolExit::ok, ""});
  CHECK(doctor::gpu_tools_verdict({run_of(measured_run(0.5)), missing}, "lab") ==
        std::pair<ToolExit, std::string>{ToolExit::correctness_failure,
                                         "wrong results on the GPU of lab: gpu-probe gemm-bf16"});
  CHECK(doctor::gpu_tools_verdict({}, "lab").first == ToolExit::ok);
}

TEST_CASE("doctor --gpu runs each tool in the env's container through the engine, and a missing one is said",
          "[doctor][gpu-tools][engine]") {
  launcher::testing::FakeDocker fake;
  fake.on({"exec", "lab", "gpu-check", "--json"}, gpu_check_no_gpu, 3);
  fake.on({"exec", "lab", "gpu-probe", "--json"}, "", 127, "exec: \"gpu-probe\": executable file not found in $PATH");
  fake.on({"exec", "gone"}, "", 1, "Error response from daemon: No such container: gone");
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  engine::PodmanEngine podman(docker::Docker("podman", fake.runner()));
  for (const engine::Engine* engine : std::vector<const engine::Engine*>{&docker_engine, &podman}) {
    INFO(engine->name());
    doctor::GpuToolRun check = doctor::run_gpu_tool(*engine, "lab", "gpu-check");
    REQUIRE(check.report);
    CHECK(check.report->no_gpu_reason == "this LibTorch was built without CUDA (CPU only)");
    doctor::GpuToolRun probe = doctor::run_gpu_tool(*engine, "lab", "gpu-probe");
    CHECK_FALSE(probe.report);
    CHECK(probe.missing.find("gpu-probe is not in this image") == 0);
    CHECK_THROWS_WITH(doctor::run_gpu_tool(*engine, "gone", "gpu-check"),
                      Catch::StartsWith("failed to run gpu-check in gone: "));
  }
  const std::vector<std::vector<std::string>> one_engine{{"exec", "lab", "gpu-check", "--json"},
                                                         {"exec", "lab", "gpu-probe", "--json"},
                                                         {"exec", "gone", "gpu-check", "--json"}};
  std::vector<std::vector<std::string>> expected = one_engine;
  expected.insert(expected.end(), one_engine.begin(), one_engine.end());
  CHECK(fake.calls() == expected);
}
