#include "timing.hpp"

#include "cuda_check.hpp"
#include "metrics.hpp"

#include <vector>

namespace gpu_probe {
namespace {

constexpr int warm_up_runs = 3;

class CudaEvent {
public:
  CudaEvent() { CUDA_CHECK(cudaEventCreate(&event_)); }
  ~CudaEvent() { cudaEventDestroy(event_); }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  [[nodiscard]] cudaEvent_t get() const { return event_; }

private:
  cudaEvent_t event_ = nullptr;
};

} // namespace

double median_milliseconds(int timed_runs, const std::function<void()>& enqueue) {
  for (int run = 0; run < warm_up_runs; ++run) {
    enqueue();
  }
  CUDA_CHECK(cudaDeviceSynchronize());

  CudaEvent start;
  CudaEvent stop;
  std::vector<double> samples;
  for (int run = 0; run < timed_runs; ++run) {
    CUDA_CHECK(cudaEventRecord(start.get()));
    enqueue();
    CUDA_CHECK(cudaEventRecord(stop.get()));
    CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float milliseconds = 0.0F;
    CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
    samples.push_back(milliseconds);
  }
  return median(std::move(samples));
}

} // namespace gpu_probe
