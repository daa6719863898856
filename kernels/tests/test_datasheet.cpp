#include "datasheet.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using gpu_probe::find_datasheet;

TEST_CASE("datasheet: the GPUs named in the issue have their bandwidth", "[datasheet]") {
  CHECK(find_datasheet("NVIDIA H100 80GB HBM3")->memory_gigabytes_per_second == 3350.0);
  CHECK(find_datasheet("NVIDIA H200")->memory_gigabytes_per_second == 4800.0);
  CHECK(find_datasheet("NVIDIA A100-SXM4-80GB")->memory_gigabytes_per_second == 2039.0);
  CHECK(find_datasheet("NVIDIA L4")->memory_gigabytes_per_second == 300.0);
  CHECK(find_datasheet("NVIDIA GeForce RTX 4090")->memory_gigabytes_per_second == 1008.0);
}

TEST_CASE("datasheet: names match exactly, not by prefix", "[datasheet]") {
  CHECK_FALSE(find_datasheet("NVIDIA H200 NVL").has_value());
  CHECK_FALSE(find_datasheet("NVIDIA H100").has_value());
  CHECK_FALSE(find_datasheet("").has_value());
}

TEST_CASE("datasheet: entries are unique and plausible", "[datasheet]") {
  std::set<std::string> names;
  for (const auto& gpu : gpu_probe::known_gpus()) {
    INFO(gpu.device_name);
    CHECK(names.insert(std::string(gpu.device_name)).second);
    CHECK(gpu.memory_gigabytes_per_second > 0.0);
    // Dense TF32 is half of dense BF16 on every part in the table.
    CHECK(gpu.dense_tf32_teraflops == Approx(gpu.dense_bf16_teraflops / 2.0).epsilon(0.01));
    CHECK(gpu.dense_fp16_teraflops == gpu.dense_bf16_teraflops);
  }
}
