// Dense GEMM through cuBLASLt, D = A * B (column-major, no transposes), with FP32 accumulation:
// BF16 and FP16 inputs on tensor cores, and FP32 inputs in TF32 mode. Each precision is first
// checked at a small size against an FP64 product on the host, then timed at 8192^3.

#include "device_memory.hpp"
#include "metrics.hpp"
#include "probe_report/format.hpp"
#include "probes.hpp"
#include "timing.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace gpu_probe {
namespace {

constexpr std::int64_t timed_size = 8192;
// Unequal, 16-aligned sizes: a swapped dimension or a transposed operand changes the result.
constexpr std::int64_t check_m = 320;
constexpr std::int64_t check_n = 192;
constexpr std::int64_t check_k = 256;
constexpr std::size_t workspace_bytes = std::size_t{32} << 20;
constexpr int threads_per_block = 256;

// Which datasheet figure a precision's GEMM rate is compared with.
using DatasheetTeraflops = double GpuDatasheet::*;

struct GemmSpec {
  std::string_view probe_name;
  std::string_view description;
  std::string_view label;
  cudaDataType_t data_type;
  cublasComputeType_t compute_type;
  // Bound on ||D - D_fp64|| / ||D_fp64|| at the check size: FP32 accumulation over k = 256
  // stays far below it; the output's rounding (BF16: 8 bits of mantissa, FP16: 11) and TF32's
  // 10-bit input mantissa dominate.
  double relative_error_bound;
  DatasheetTeraflops dense_teraflops;
  int minimum_compute_capability_major;
};

template <typename Element> GemmSpec spec_for();

template <> GemmSpec spec_for<__nv_bfloat16>() {
  return {"gemm-bf16",
          "cuBLASLt GEMM 8192^3, BF16 inputs and output, FP32 accumulation",
          "BF16",
          CUDA_R_16BF,
          CUBLAS_COMPUTE_32F,
          1e-2,
          &GpuDatasheet::dense_bf16_teraflops,
          8};
}

template <> GemmSpec spec_for<__half>() {
  return {"gemm-fp16",
          "cuBLASLt GEMM 8192^3, FP16 inputs and output, FP32 accumulation",
          "FP16",
          CUDA_R_16F,
          CUBLAS_COMPUTE_32F,
          5e-3,
          &GpuDatasheet::dense_fp16_teraflops,
          7};
}

template <> GemmSpec spec_for<float>() {
  return {"gemm-tf32",
          "cuBLASLt GEMM 8192^3, FP32 inputs and output, TF32 tensor-core mode",
          "TF32",
          CUDA_R_32F,
          CUBLAS_COMPUTE_32F_FAST_TF32,
          5e-3,
          &GpuDatasheet::dense_tf32_teraflops,
          8};
}

// Uniform in [-1, 1) from a hash of the index, identical on host and device.
__host__ __device__ float uniform_value(std::uint64_t index, std::uint32_t seed) {
  std::uint64_t state = (index + 1) * 0x9E3779B97F4A7C15ULL ^ seed;
  state ^= state >> 33;
  state *= 0xFF51AFD7ED558CCDULL;
  state ^= state >> 33;
  return static_cast<float>(state >> 40) * (2.0F / 16777216.0F) - 1.0F;
}

template <typename Element> __global__ void fill_uniform(Element* values, std::size_t count, std::uint32_t seed) {
  const std::size_t index = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (index < count) {
    values[index] = Element(uniform_value(index, seed));
  }
}

template <typename Handle, typename Destroy> auto owned(Handle handle, Destroy destroy) {
  return std::unique_ptr<std::remove_pointer_t<Handle>, Destroy>(handle, destroy);
}

// One planned cuBLASLt matmul: descriptors and the heuristic's algorithm for fixed sizes.
class LtMatmul {
public:
  LtMatmul(cublasLtHandle_t handle, const GemmSpec& spec, std::int64_t m, std::int64_t n, std::int64_t k,
           const DeviceArray<std::byte>& workspace)
      : handle_(handle), workspace_(workspace) {
    cublasLtMatmulDesc_t operation = nullptr;
    CUDA_CHECK(cublasLtMatmulDescCreate(&operation, spec.compute_type, CUDA_R_32F));
    operation_.reset(operation);
    a_layout_.reset(create_layout(spec.data_type, m, k));
    b_layout_.reset(create_layout(spec.data_type, k, n));
    d_layout_.reset(create_layout(spec.data_type, m, n));

    cublasLtMatmulPreference_t preference = nullptr;
    CUDA_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const auto owned_preference = owned(preference, cublasLtMatmulPreferenceDestroy);
    const std::size_t max_workspace = workspace.bytes();
    CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &max_workspace, sizeof(max_workspace)));
    int returned = 0;
    CUDA_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, operation, a_layout_.get(), b_layout_.get(), d_layout_.get(),
                                              d_layout_.get(), preference, 1, &heuristic_, &returned));
    if (returned == 0) {
      throw CudaError("cuBLASLt has no algorithm for this GEMM");
    }
  }

  void enqueue(const void* a, const void* b, void* d) const {
    const float alpha = 1.0F;
    const float beta = 0.0F;
    CUDA_CHECK(cublasLtMatmul(handle_, operation_.get(), &alpha, a, a_layout_.get(), b, b_layout_.get(), &beta, d,
                              d_layout_.get(), d, d_layout_.get(), &heuristic_.algo, workspace_.data(),
                              workspace_.bytes(), cudaStream_t{}));
  }

private:
  static cublasLtMatrixLayout_t create_layout(cudaDataType_t type, std::int64_t rows, std::int64_t columns) {
    cublasLtMatrixLayout_t layout = nullptr;
    CUDA_CHECK(cublasLtMatrixLayoutCreate(&layout, type, static_cast<std::uint64_t>(rows),
                                          static_cast<std::uint64_t>(columns), rows));
    return layout;
  }

  cublasLtHandle_t handle_;
  const DeviceArray<std::byte>& workspace_;
  std::unique_ptr<cublasLtMatmulDescOpaque_t, decltype(&cublasLtMatmulDescDestroy)> operation_{
      nullptr, cublasLtMatmulDescDestroy};
  std::unique_ptr<cublasLtMatrixLayoutOpaque_t, decltype(&cublasLtMatrixLayoutDestroy)> a_layout_{
      nullptr, cublasLtMatrixLayoutDestroy};
  std::unique_ptr<cublasLtMatrixLayoutOpaque_t, decltype(&cublasLtMatrixLayoutDestroy)> b_layout_{
      nullptr, cublasLtMatrixLayoutDestroy};
  std::unique_ptr<cublasLtMatrixLayoutOpaque_t, decltype(&cublasLtMatrixLayoutDestroy)> d_layout_{
      nullptr, cublasLtMatrixLayoutDestroy};
  cublasLtMatmulHeuristicResult_t heuristic_{};
};

template <typename Element> std::vector<Element> host_uniform(std::size_t count, std::uint32_t seed) {
  std::vector<Element> values(count);
  for (std::size_t index = 0; index < count; ++index) {
    values[index] = Element(uniform_value(index, seed));
  }
  return values;
}

template <typename Element> std::vector<double> to_doubles(const std::vector<Element>& values) {
  std::vector<double> converted(values.size());
  for (std::size_t index = 0; index < values.size(); ++index) {
    converted[index] = static_cast<double>(static_cast<float>(values[index]));
  }
  return converted;
}

// Relative error of the GPU product against FP64 on the host, from the same rounded inputs.
template <typename Element>
double check_relative_error(cublasLtHandle_t handle, const GemmSpec& spec, const DeviceArray<std::byte>& workspace) {
  const auto a = host_uniform<Element>(check_m * check_k, 1);
  const auto b = host_uniform<Element>(check_k * check_n, 2);
  DeviceArray<Element> device_a(a.size());
  DeviceArray<Element> device_b(b.size());
  DeviceArray<Element> device_d(check_m * check_n);
  CUDA_CHECK(cudaMemcpy(device_a.data(), a.data(), device_a.bytes(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(device_b.data(), b.data(), device_b.bytes(), cudaMemcpyHostToDevice));
  LtMatmul(handle, spec, check_m, check_n, check_k, workspace)
      .enqueue(device_a.data(), device_b.data(), device_d.data());
  std::vector<Element> d(device_d.size());
  CUDA_CHECK(cudaMemcpy(d.data(), device_d.data(), device_d.bytes(), cudaMemcpyDeviceToHost));

  const auto a_values = to_doubles(a);
  const auto b_values = to_doubles(b);
  std::vector<double> expected(d.size(), 0.0);
  for (std::int64_t column = 0; column < check_n; ++column) {
    for (std::int64_t inner = 0; inner < check_k; ++inner) {
      const double b_value = b_values[inner + column * check_k];
      for (std::int64_t row = 0; row < check_m; ++row) {
        expected[row + column * check_m] += a_values[row + inner * check_m] * b_value;
      }
    }
  }
  return relative_frobenius_error(to_doubles(d), expected);
}

template <typename Element> probe_report::ProbeReport measure_gemm(const ProbeContext& context) {
  const GemmSpec spec = spec_for<Element>();
  cublasLtHandle_t raw_handle = nullptr;
  CUDA_CHECK(cublasLtCreate(&raw_handle));
  const auto handle = owned(raw_handle, cublasLtDestroy);
  const DeviceArray<std::byte> workspace(workspace_bytes);

  probe_report::ProbeReport report;
  report.checks.push_back({"relative error vs FP64 host product at " + std::to_string(check_m) + "x" +
                               std::to_string(check_n) + "x" + std::to_string(check_k),
                           check_relative_error<Element>(handle.get(), spec, workspace), spec.relative_error_bound});
  if (probe_report::status_from_checks(report.checks) == probe_report::ProbeStatus::failed) {
    return report;
  }

  const std::size_t count = timed_size * timed_size;
  DeviceArray<Element> a(count);
  DeviceArray<Element> b(count);
  DeviceArray<Element> d(count);
  const auto blocks = static_cast<unsigned>((count + threads_per_block - 1) / threads_per_block);
  fill_uniform<<<blocks, threads_per_block>>>(a.data(), count, 3);
  fill_uniform<<<blocks, threads_per_block>>>(b.data(), count, 4);
  CUDA_CHECK(cudaGetLastError());
  const LtMatmul matmul(handle.get(), spec, timed_size, timed_size, timed_size, workspace);
  const double milliseconds =
      median_milliseconds(context.timed_runs, [&] { matmul.enqueue(a.data(), b.data(), d.data()); });

  std::optional<probe_report::Reference> reference;
  if (context.device.datasheet) {
    reference =
        probe_report::Reference{(*context.device.datasheet).*spec.dense_teraflops,
                                "datasheet " + std::string(context.device.datasheet->marketing_name) + " dense"};
  }
  const std::string size = std::to_string(timed_size);
  report.measurements.push_back({std::string(spec.label) + " " + size + "^3",
                                 gemm_teraflops(timed_size, timed_size, timed_size, milliseconds), "TFLOP/s",
                                 reference});
  report.facts.push_back({"accumulation", "FP32, cuBLASLt heuristic's first algorithm, 32 MiB workspace"});
  return report;
}

template <typename Element> Probe gemm_probe() {
  const GemmSpec spec = spec_for<Element>();
  return {
      .name = spec.probe_name,
      .description = spec.description,
      .can_run_here =
          [spec](const ProbeContext& context) {
            if (context.device.compute_capability_major < spec.minimum_compute_capability_major) {
              return Availability::no(std::string(spec.label) + " tensor-core GEMM needs compute capability " +
                                      std::to_string(spec.minimum_compute_capability_major) + ".0 or newer");
            }
            return Availability::yes();
          },
      .run = measure_gemm<Element>,
  };
}

} // namespace

Probe make_gemm_probe(GemmPrecision precision) {
  switch (precision) {
  case GemmPrecision::bf16:
    return gemm_probe<__nv_bfloat16>();
  case GemmPrecision::fp16:
    return gemm_probe<__half>();
  case GemmPrecision::tf32:
    return gemm_probe<float>();
  }
  throw std::invalid_argument("unknown GEMM precision");
}

} // namespace gpu_probe
