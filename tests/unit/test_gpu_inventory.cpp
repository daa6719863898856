#include <catch2/catch.hpp>

#include "doctor_fixtures.hpp"
#include "gpu/inventory.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::inventory_of;

TEST_CASE("the recorded H100 host reads as nvidia-smi printed it", "[gpu]") {
  gpu::GpuInventory inventory = inventory_of("gpu/h100-80gb-hbm3");
  CHECK(inventory.driver_version == "580.159.04");
  CHECK(inventory.problem.empty());
  CHECK(inventory.processes.empty());
  CHECK(gpu::to_json(inventory)["gpus"] == nlohmann::json::parse(R"([{
    "index": 0, "uuid": "GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb", "name": "NVIDIA H100 80GB HBM3",
    "pci_bus_id": "00000000:00:06.0", "driver_version": "580.159.04", "memory_total_mib": 81559,
    "memory_used_mib": 0, "memory_free_mib": 81079, "utilization_percent": "0", "compute_capability": "9.0",
    "temperature_c": "36", "power_draw_w": "123.79", "mig_enabled": false, "mig_devices": []}])"));
}

TEST_CASE("a multi-GPU host lists its GPUs and the processes on them", "[gpu]") {
  gpu::GpuInventory inventory = inventory_of("gpu/4x-a100-sxm4-80gb-driver-550");
  CHECK(inventory.driver_version == "550.54.15");
  REQUIRE(inventory.gpus.size() == 4);
  CHECK(inventory.gpus[2].memory_used_mib == 1024);
  CHECK(inventory.gpus[3].pci_bus_id == "00000000:4C:00.0");
  REQUIRE(inventory.processes.size() == 2);
  CHECK(inventory.processes[0].pid == 4242);
  CHECK(inventory.processes[0].used_mib == 40448u);
  CHECK(inventory.processes_on(inventory.gpus[2]).at(0).pid == 5151);
}

TEST_CASE("MIG devices come from nvidia-smi -L under their GPU", "[gpu]") {
  gpu::GpuInventory inventory = inventory_of("gpu/2x-a100-sxm4-40gb-mig");
  REQUIRE(inventory.gpus.size() == 2);
  CHECK(inventory.gpus[0].mig_enabled);
  CHECK(inventory.gpus[0].utilization_percent == "[N/A]");
  REQUIRE(inventory.gpus[0].mig_devices.size() == 2);
  CHECK(inventory.gpus[0].mig_devices[1].index == 1);
  CHECK(inventory.gpus[0].mig_devices[1].profile == "3g.20gb");
  CHECK(inventory.gpus[0].mig_devices[1].uuid == "MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb");
  CHECK_FALSE(inventory.gpus[1].mig_enabled);
  CHECK(inventory.gpus[1].mig_devices.empty());
}

TEST_CASE("both /proc driver formats and nvidia-smi --version give the driver", "[gpu]") {
  CHECK(inventory_of("gpu/v100-sxm2-16gb-driver-470").driver_version == "470.199.02");
  CHECK(inventory_of("gpu/rtx5090-driver-575").gpus.at(0).compute_capability.sm() == "sm_120");
  CHECK(gpu::parse_smi_driver_version("NVIDIA-SMI version  : 580.159.04\nDRIVER version      : 580.159.04\n") ==
        "580.159.04");
  CHECK_FALSE(gpu::parse_proc_driver_version("NVRM version: unexpected\n"));
}

TEST_CASE("a host without a driver says why", "[gpu]") {
  gpu::GpuInventory inventory = inventory_of("gpu/no-driver");
  CHECK(inventory.driver_version.empty());
  CHECK(inventory.problem == "/proc/driver/nvidia/version is missing and nvidia-smi is not installed");
  CHECK(inventory_of("docker/daemon-down").problem == "the facts do not record the NVIDIA driver");
}

TEST_CASE("a malformed query-gpu line is an error naming the line", "[gpu]") {
  testing::require_error([] { gpu::parse_gpu_table("0, GPU-1, NVIDIA H100\n"); }, ExitCode::failed,
                         "nvidia-smi --query-gpu line 1: expected 13 fields, found 3");
}

TEST_CASE("compute apps without the right to see memory keep the process", "[gpu]") {
  auto processes = gpu::parse_compute_apps("pid, gpu_uuid, used_gpu_memory [MiB]\n77, GPU-1, [N/A]\n");
  REQUIRE(processes.size() == 1);
  CHECK(processes[0].pid == 77);
  CHECK_FALSE(processes[0].used_mib);
}
