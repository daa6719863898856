#include <catch2/catch.hpp>

#include "doctor_fixtures.hpp"
#include "gpu/selection.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::inventory_of;

namespace {

std::vector<int> indices(const std::vector<const gpu::Gpu*>& gpus) {
  std::vector<int> result;
  for (const auto* gpu : gpus)
    result.push_back(gpu->index);
  return result;
}

const gpu::GpuInventory a100s = inventory_of("gpu/4x-a100-sxm4-80gb-driver-550");
const gpu::GpuHolder bob{"bob-train", 1001, "bob", 4300};

} // namespace

TEST_CASE("count selection takes the least used GPUs, then the lowest index", "[gpu][selection]") {
  CHECK(indices(gpu::choose_gpus(a100s, {}, "alice-jupyter", 1)) == std::vector<int>{1});
  CHECK(indices(gpu::choose_gpus(a100s, {}, "alice-jupyter", 3)) == std::vector<int>{1, 3, 2});
  CHECK(indices(gpu::choose_gpus(a100s, {}, "alice-jupyter", 4)) == std::vector<int>{1, 3, 2, 0});
}

TEST_CASE("count selection skips GPUs another env holds and keeps its own", "[gpu][selection]") {
  gpu::HolderTable holders{{a100s.gpus[1].uuid, bob}, {a100s.gpus[0].uuid, {"alice-jupyter", 1000, "alice", 4100}}};
  CHECK(indices(gpu::choose_gpus(a100s, holders, "alice-jupyter", 2)) == std::vector<int>{0, 3});
  CHECK(indices(gpu::choose_gpus(a100s, holders, "bob-train", 1)) == std::vector<int>{1});
}

TEST_CASE("not enough free GPUs lists each GPU, its memory use and who holds it", "[gpu][selection]") {
  gpu::HolderTable holders{{a100s.gpus[1].uuid, bob}, {a100s.gpus[3].uuid, bob}};
  testing::require_error([&] { gpu::choose_gpus(a100s, holders, "alice-jupyter", 3); }, ExitCode::host_incapable,
                         "asked for 3 GPUs, 2 of 4 free on this host:\n"
                         "  GPU 0 NVIDIA A100-SXM4-80GB: 40960/81920 MiB used by PID 4242; free\n"
                         "  GPU 1 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env bob-train (user bob, pid 4300)\n"
                         "  GPU 2 NVIDIA A100-SXM4-80GB: 1024/81920 MiB used by PID 5151; free\n"
                         "  GPU 3 NVIDIA A100-SXM4-80GB: 4/81920 MiB used; held by env bob-train (user bob, pid 4300)");
}

TEST_CASE("MIG-enabled GPUs are never picked by count", "[gpu][selection]") {
  gpu::GpuInventory mig = inventory_of("gpu/2x-a100-sxm4-40gb-mig");
  CHECK(indices(gpu::choose_gpus(mig, {}, "alice-jupyter", 1)) == std::vector<int>{1});
  testing::require_error([&] { gpu::choose_gpus(mig, {}, "alice-jupyter", 2); }, ExitCode::host_incapable,
                         "asked for 2 GPUs, 1 of 2 free on this host:\n"
                         "  GPU 0 NVIDIA A100-SXM4-40GB: 26/40960 MiB used; MIG enabled: name its MIG devices instead\n"
                         "  GPU 1 NVIDIA A100-SXM4-40GB: 4/40960 MiB used; free");
}

TEST_CASE("a host without GPUs says so", "[gpu][selection]") {
  testing::require_error([] { gpu::choose_gpus(inventory_of("gpu/no-driver"), {}, "alice-jupyter", 1); },
                         ExitCode::host_incapable,
                         "asked for 1 GPU, this host has no NVIDIA GPU (/proc/driver/nvidia/version is missing and "
                         "nvidia-smi is not installed)");
}

TEST_CASE("explicit devices resolve by index, UUID, MIG UUID and GPU:MIG pair", "[gpu][devices]") {
  gpu::GpuInventory mig = inventory_of("gpu/2x-a100-sxm4-40gb-mig");
  CHECK(indices(gpu::match_devices(mig, {"1"})) == std::vector<int>{1});
  CHECK(indices(gpu::match_devices(mig, {"GPU-7e6cb1f8-f55f-4d4e-936f-bf5f6e4dac99", "0:1"})) ==
        std::vector<int>{1, 0});
  CHECK(indices(gpu::match_devices(mig, {"MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f", "0:0"})) == std::vector<int>{0});
  CHECK(indices(gpu::match_devices(mig, {"MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/1/0"})) == std::vector<int>{0});
}

TEST_CASE("explicit devices the host lacks are refused, listing what it has", "[gpu][devices]") {
  gpu::GpuInventory h100 = inventory_of("gpu/h100-80gb-hbm3");
  testing::require_error(
      [&] {
        gpu::match_devices(h100, {"0", "3"});
      },
      ExitCode::host_incapable,
      "GPU 3 is not on this host, which has GPU 0 NVIDIA H100 80GB HBM3 "
      "(GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb)");
  testing::require_error([&] { gpu::match_devices(h100, {"GPU-00000000-0000-0000-0000-000000000000"}); },
                         ExitCode::host_incapable,
                         "GPU GPU-00000000-0000-0000-0000-000000000000 is not on this host, which has GPU 0 NVIDIA "
                         "H100 80GB HBM3 (GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb)");
  testing::require_error([&] { gpu::match_devices(h100, {"0:0"}); }, ExitCode::host_incapable,
                         "MIG device 0:0 is not on this host, which has no MIG device");
  testing::require_error(
      [&] {
        gpu::match_devices(inventory_of("gpu/2x-a100-sxm4-40gb-mig"), {"MIG-00000000-0000-0000-0000-000000000000"});
      },
      ExitCode::host_incapable,
      "MIG device MIG-00000000-0000-0000-0000-000000000000 is not on this host, which has "
      "0:0 3g.20gb (MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f), 0:1 3g.20gb "
      "(MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb)");
  testing::require_error([] { gpu::match_devices(inventory_of("gpu/no-driver"), {"0"}); }, ExitCode::host_incapable,
                         "GPU 0 is not on this host, which has no NVIDIA GPU (/proc/driver/nvidia/version is missing "
                         "and nvidia-smi is not installed)");
}
