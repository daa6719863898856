#include "metrics.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

using namespace gpu_probe;

TEST_CASE("median of odd and even sample counts", "[metrics]") {
  CHECK(median({5.0, 1.0, 3.0}) == 3.0);
  CHECK(median({4.0, 1.0, 3.0, 2.0}) == 2.5);
  CHECK(median({7.0}) == 7.0);
  CHECK_THROWS_AS(median({}), std::invalid_argument);
}

TEST_CASE("bandwidth and FLOP rate in decimal units", "[metrics]") {
  // The baseline's triad: 3 x 2 GiB in 2.241 ms is 2874.5 GB/s.
  CHECK(gigabytes_per_second(3.0 * 2147483648.0, 2.241) == Approx(2874.8).epsilon(1e-3));
  CHECK(gigabytes_per_second(1e9, 1000.0) == 1.0);
  // 2 * 8192^3 operations in 1.385 ms is about 793.8 TFLOP/s, the baseline's torch.matmul.
  CHECK(gemm_teraflops(8192, 8192, 8192, 1.3851) == Approx(793.8).epsilon(1e-3));
}

TEST_CASE("all-reduce bus bandwidth follows nccl-tests", "[metrics]") {
  CHECK(allreduce_bus_bandwidth(100.0, 1) == 0.0);
  CHECK(allreduce_bus_bandwidth(100.0, 2) == 100.0);
  CHECK(allreduce_bus_bandwidth(100.0, 8) == 175.0);
  CHECK_THROWS_AS(allreduce_bus_bandwidth(100.0, 0), std::invalid_argument);
}

TEST_CASE("PCIe link theoretical rate per direction", "[metrics]") {
  CHECK(*pcie_gigabytes_per_second(5, 16) == Approx(63.015).epsilon(1e-4));
  CHECK(*pcie_gigabytes_per_second(4, 16) == Approx(31.508).epsilon(1e-4));
  CHECK(*pcie_gigabytes_per_second(3, 8) == Approx(7.877).epsilon(1e-3));
  CHECK(*pcie_gigabytes_per_second(1, 1) == 0.25);
  CHECK_FALSE(pcie_gigabytes_per_second(7, 16).has_value());
  CHECK_FALSE(pcie_gigabytes_per_second(5, 0).has_value());
}

TEST_CASE("relative Frobenius error", "[metrics]") {
  const std::vector<double> expected{3.0, 4.0};
  CHECK(relative_frobenius_error(expected, expected) == 0.0);
  const std::vector<double> observed{3.0, 4.5};
  CHECK(relative_frobenius_error(observed, expected) == Approx(0.1));
  CHECK_THROWS_AS(relative_frobenius_error(observed, std::vector<double>{1.0}), std::invalid_argument);
  CHECK_THROWS_AS(relative_frobenius_error(observed, std::vector<double>{0.0, 0.0}), std::invalid_argument);
}
