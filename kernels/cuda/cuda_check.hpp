#pragma once

// CUDA_CHECK(expr) evaluates a CUDA runtime or CUDA library call and throws CudaError naming
// the expression, the library's error text, and the file and line, so a failed probe says
// exactly which call failed. One macro serves every library: an overload of check_status per
// status type picks the matching error text.

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace gpu_probe {

class CudaError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void throw_cuda_error(const char* expression, const std::string& error_text, const char* file,
                                          int line) {
  throw CudaError(std::string(expression) + " failed: " + error_text + " (" + file + ":" + std::to_string(line) + ")");
}

inline void check_status(cudaError_t status, const char* expression, const char* file, int line) {
  if (status != cudaSuccess) {
    throw_cuda_error(expression, std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status), file, line);
  }
}

inline void check_status(cublasStatus_t status, const char* expression, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw_cuda_error(expression, cublasLtGetStatusName(status), file, line);
  }
}

} // namespace gpu_probe

#define CUDA_CHECK(expression) ::gpu_probe::check_status((expression), #expression, __FILE__, __LINE__)
