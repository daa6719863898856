// Every reader of nvidia-smi's and the driver's output on arbitrary bytes. The first byte picks
// the reader: 0 the --query-gpu table, 1 `nvidia-smi -L` over a fixed table, 2 --query-compute-apps,
// 3 /proc/driver/nvidia/version, 4 `nvidia-smi --version`, 5 a whole host for doctor: the rest
// cut at NULs into proc version, query-gpu table, -L listing and compute apps, 6 an InfiniBand host
// for doctor: the rest cut at NULs into /sys/class/infiniband, /dev/infiniband, a device's ports,
// a port's state, rate and link layer, and the image's package record, 7 a host whose GPUs go
// through CDI: the rest cut at NULs into docker info, the CDI spec listing, `nvidia-ctk cdi list`
// and the spec's text.
#include "core/text.hpp"
#include "doctor/checks.hpp"
#include "doctor/report.hpp"
#include "doctor/snapshot.hpp"
#include "fuzz_support.hpp"
#include "gpu/inventory.hpp"
#include "gpu/selection.hpp"
#include "matrix/matrix.hpp"

using namespace launcher;

namespace {

const char* const one_gpu_table =
    "0, GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77, NVIDIA A100-SXM4-40GB, 00000000:07:00.0, 550.54.15, 40960, 26, "
    "40377, [N/A], 8.0, 30, 54.10, Enabled\n";

void doctor_host(std::string_view text) {
  std::vector<std::string> parts = fuzz::split_at_nul(text, 4);
  parts.resize(4);
  facts::MemoryFactSource facts;
  facts.answers["proc-driver-nvidia-version.txt"] = {true, 0, parts[0], ""};
  facts.answers["nvidia-smi-query-gpu.csv"] = {true, 0, parts[1], ""};
  facts.answers["nvidia-smi-L.txt"] = {true, 0, parts[2], ""};
  facts.answers["nvidia-smi-query-compute-apps.csv"] = {true, 0, parts[3], ""};
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  const matrix::Matrix& matrix = matrix::embedded_matrix();
  for (auto kind : {plan::GpuAssignment::Kind::all, plan::GpuAssignment::Kind::devices}) {
    doctor::Subject subject;
    subject.image = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";
    subject.gpus = {kind, {"0", "1:0"}};
    doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix);
    auto results = doctor::doctor_checks(subject, snapshot, matrix);
    (void)doctor::format_report(results);
    (void)doctor::report_json(results, snapshot).dump();
  }
}

// Every device and port of the listings gets the same answers: the names are what is fuzzed.
void infiniband_host(std::string_view text) {
  std::vector<std::string> parts = fuzz::split_at_nul(text, 7);
  parts.resize(7);
  facts::MemoryFactSource facts;
  facts.answers["sys-class-infiniband.txt"] = {true, 0, parts[0], ""};
  facts.answers["dev-infiniband.txt"] = {true, 0, parts[1], ""};
  for (const auto& device : split(parts[0], '\n')) {
    if (!facts::plain_entry_name(device)) continue;
    facts.answers["sys-class-infiniband-" + device + "-ports.txt"] = {true, 0, parts[2], ""};
    for (const auto& port : split(parts[2], '\n')) {
      std::string prefix = "sys-class-infiniband-" + device + "-ports-" + port + "-";
      facts.answers[prefix + "state.txt"] = {true, 0, parts[3], ""};
      facts.answers[prefix + "rate.txt"] = {true, 0, parts[4], ""};
      facts.answers[prefix + "link_layer.txt"] = {true, 0, parts[5], ""};
    }
  }
  facts.answers["docker-image-labels.json"] = {true, 0, "null", ""};
  facts.answers["docker-image-packages.json"] = {true, 0, parts[6], ""};
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  doctor::Subject subject;
  subject.image = "pytorch-cpu:1.13.0a0-debian12";
  doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
  auto results = doctor::doctor_checks(subject, snapshot, matrix::embedded_matrix());
  (void)doctor::format_report(results);
  (void)doctor::report_json(results, snapshot).dump();
}

// Every spec the listing names gets the same text: the names are fuzzed through the listing.
void cdi_host(std::string_view text) {
  std::vector<std::string> parts = fuzz::split_at_nul(text, 4);
  parts.resize(4);
  facts::MemoryFactSource facts;
  facts.answers["proc-driver-nvidia-version.txt"] = {
      true, 0, "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build\n", ""};
  facts.answers["nvidia-smi-query-gpu.csv"] = {true, 0, one_gpu_table, ""};
  facts.answers["docker-info.json"] = {true, 0, parts[0], ""};
  facts.answers["cdi-specs.txt"] = {true, 0, parts[1], ""};
  facts.answers["nvidia-ctk-cdi-list.txt"] = {true, 0, parts[2], ""};
  for (const auto& path : split(parts[1], '\n'))
    if (auto slash = path.rfind('/'); slash != std::string::npos) {
      std::string directory = path.substr(0, slash) == "/etc/cdi" ? "etc-cdi" : "var-run-cdi";
      facts.answers["cdi-spec-" + directory + "-" + path.substr(slash + 1)] = {true, 0, parts[3], ""};
    }
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  const matrix::Matrix& matrix = matrix::embedded_matrix();
  doctor::Subject subject;
  subject.image = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";
  subject.gpus = {plan::GpuAssignment::Kind::devices, {"0", "1:0"}};
  subject.gpu_runtime = host::GpuRuntime::cdi;
  doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix);
  auto results = doctor::doctor_checks(subject, snapshot, matrix);
  (void)doctor::format_report(results);
  (void)doctor::report_json(results, snapshot).dump();
}

void read(std::uint8_t reader, std::string_view text) {
  switch (reader % 8) {
  case 0:
    (void)gpu::parse_gpu_table(text);
    break;
  case 1: {
    std::vector<gpu::Gpu> gpus = gpu::parse_gpu_table(one_gpu_table);
    gpu::add_mig_devices(gpus, text);
    break;
  }
  case 2:
    (void)gpu::parse_compute_apps(text);
    break;
  case 3:
    (void)gpu::parse_proc_driver_version(text);
    break;
  case 4:
    (void)gpu::parse_smi_driver_version(text);
    break;
  case 5:
    doctor_host(text);
    break;
  case 6:
    infiniband_host(text);
    break;
  case 7:
    cdi_host(text);
    break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    read(data[0], fuzz::as_text(data + 1, size - 1));
  } catch (const Error&) {}
  return 0;
}
