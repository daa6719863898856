#include "gpu_check.hpp"

#include "autocast_scope.hpp"
#include "probe_report/format.hpp"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>
#ifdef GPU_CHECK_TORCH_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <dlfcn.h>

#include <iostream>
#include <string>

namespace gpu_check {
namespace {

using probe_report::Check;
using probe_report::ExitCode;
using probe_report::Fact;
using probe_report::ProbeReport;

constexpr const char* tool_name = "gpu-check";

struct CudaDevice {
  int index = 0;
  std::string name;
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
};

#ifdef GPU_CHECK_TORCH_WITH_CUDA
constexpr bool built_with_cuda = true;

CudaDevice describe_current_device() {
  const cudaDeviceProp* properties = at::cuda::getCurrentDeviceProperties();
  return {c10::cuda::current_device(), properties->name, properties->major, properties->minor};
}
#else
constexpr bool built_with_cuda = false;

// A LibTorch built without CUDA never reports a CUDA device, so run() stops before this.
CudaDevice describe_current_device() { throw std::logic_error("this LibTorch was built without CUDA"); }
#endif

std::string yes_no(bool value) { return value ? "yes" : "no"; }

// "91900" -> "9.19.0": cuDNN 9 encodes major * 10000 + minor * 100 + patch.
std::string cudnn_version_text(long version) {
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

std::vector<Fact> environment_facts() {
  return {
      {"LibTorch", TORCH_VERSION},
      {"LibTorch built with CUDA", yes_no(built_with_cuda)},
      {"CUDA available", yes_no(torch::cuda::is_available())},
      // device_count() returns an 8-bit integer type: print it as a number, not a character.
      {"CUDA device count", std::to_string(static_cast<int>(torch::cuda::device_count()))},
  };
}

ProbeReport device_report() {
  const CudaDevice device = describe_current_device();
  ProbeReport report;
  report.name = "cuda-device";
  report.description = "the device LibTorch computes on";
  report.facts = {
      {"current device", std::to_string(device.index)},
      {"name", device.name},
      {"compute capability",
       std::to_string(device.compute_capability_major) + "." + std::to_string(device.compute_capability_minor)},
  };
  return report;
}

ProbeReport cudnn_report() {
  const bool available = torch::cuda::cudnn_is_available();
  ProbeReport report;
  report.name = "cudnn";
  report.description = "cuDNN as LibTorch loads it";
  report.facts = {{"available", yes_no(available)}};
  if (available) {
    report.facts.push_back({"version", cudnn_version_text(at::detail::getCUDAHooks().versionCuDNN())});
  } else {
    report.status = probe_report::ProbeStatus::failed;
    report.detail = "LibTorch has CUDA but cannot use cuDNN";
  }
  return report;
}

// LibTorch's C++ API has no NCCL version call; ask the libnccl that LibTorch's CUDA library
// loaded into this process.
ProbeReport nccl_report() {
  const std::string name = "nccl";
  const std::string description = "NCCL as loaded by LibTorch";
  using GetVersion = int (*)(int*);
  const auto get_version = reinterpret_cast<GetVersion>(dlsym(RTLD_DEFAULT, "ncclGetVersion"));
  if (get_version == nullptr) {
    return probe_report::waived(name, description, "no NCCL library is loaded in this process");
  }
  int version = 0;
  if (get_version(&version) != 0) {
    return probe_report::failed(name, description, "ncclGetVersion failed");
  }
  ProbeReport report;
  report.name = name;
  report.description = description;
  report.facts = {{"version", std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
                                  std::to_string(version % 100)}};
  return report;
}

double relative_error(const torch::Tensor& observed, const torch::Tensor& expected) {
  return ((observed.to(torch::kCPU, torch::kDouble) - expected.to(torch::kDouble)).norm() /
          expected.to(torch::kDouble).norm())
      .item<double>();
}

// One forward and backward pass of a small MLP on the GPU under autocast, compared with the
// same pass in FP32 on the CPU from the same weights and data.
ProbeReport autocast_step_report() {
  const CudaDevice device = describe_current_device();
  const bool has_bf16 = device.compute_capability_major >= 8;
  const at::ScalarType lower_precision = has_bf16 ? torch::kBFloat16 : torch::kHalf;
  // Relative bounds on ||gpu - cpu|| / ||cpu||: BF16 keeps 8 significant bits (about 0.4 %
  // per rounding), FP16 11; two layers and a reduction over 512 stay well inside these.
  const double bound = has_bf16 ? 3e-2 : 1e-2;

  torch::manual_seed(0);
  torch::nn::Sequential cpu_model(torch::nn::Linear(256, 512), torch::nn::GELU(), torch::nn::Linear(512, 64));
  auto gpu_model = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(cpu_model->clone(torch::kCUDA));
  const torch::Tensor input = torch::randn({128, 256});
  const torch::Tensor target = torch::randn({128, 64});

  const torch::Tensor cpu_output = cpu_model->forward(input);
  torch::mse_loss(cpu_output, target).backward();

  torch::Tensor gpu_output;
  {
    const AutocastScope autocast(torch::kCUDA, lower_precision);
    gpu_output = gpu_model->forward(input.to(torch::kCUDA));
  }
  torch::mse_loss(gpu_output.to(torch::kFloat), target.to(torch::kCUDA)).backward();

  const torch::Tensor cpu_gradient = cpu_model->parameters()[0].grad();
  const torch::Tensor gpu_gradient = gpu_model->parameters()[0].grad();
  ProbeReport report;
  report.name = "autocast-train-step";
  report.description = "forward + backward of a 256-512-64 MLP on the GPU under autocast vs FP32 on the CPU";
  report.facts = {
      {"autocast dtype", has_bf16 ? "bfloat16" : "float16 (no BF16 before compute capability 8.0)"},
      {"output dtype under autocast", std::string(c10::toString(gpu_output.scalar_type()))},
  };
  report.checks = {
      {"output relative error", relative_error(gpu_output, cpu_output), bound},
      {"first-layer weight gradient relative error", relative_error(gpu_gradient, cpu_gradient), bound},
  };
  report.status = probe_report::status_from_checks(report.checks);
  return report;
}

probe_report::RunReport check() {
  probe_report::RunReport run{.tool = tool_name,
                              .version = GPU_CHECK_VERSION,
                              .environment = environment_facts(),
                              .no_gpu_reason = {},
                              .probes = {}};
  if (!torch::cuda::is_available()) {
    run.no_gpu_reason = built_with_cuda
                            ? "LibTorch sees no CUDA device (no driver, no GPU, or CUDA_VISIBLE_DEVICES hides them)"
                            : "this LibTorch was built without CUDA (CPU only)";
    return run;
  }
  for (const auto& make_report : {device_report, cudnn_report, nccl_report, autocast_step_report}) {
    try {
      run.probes.push_back(make_report());
    } catch (const std::exception& error) {
      run.probes.push_back(probe_report::failed("error", "", error.what()));
    }
  }
  return run;
}

} // namespace

int run(std::span<const std::string_view> arguments) {
  bool json = false;
  for (const std::string_view argument : arguments) {
    if (argument == "--json") {
      json = true;
    } else if (argument == "--help" || argument == "-h") {
      std::cout << "usage: gpu-check [--json]\n\n"
                   "The image's self-test through LibTorch: CUDA device, cuDNN, NCCL, and one\n"
                   "autocast training step on the GPU checked against FP32 on the CPU.\n\n"
                   "exit codes: 0 all passed, 1 a check failed, 2 bad usage, 3 no CUDA GPU\n";
      return static_cast<int>(ExitCode::ok);
    } else {
      std::cerr << tool_name << ": error: unknown option '" << argument << "' (see --help)\n";
      return static_cast<int>(ExitCode::bad_usage);
    }
  }
  const probe_report::RunReport report = check();
  std::cout << (json ? probe_report::format_json(report) : probe_report::format_table(report));
  return static_cast<int>(probe_report::exit_code_for(report));
}

} // namespace gpu_check
