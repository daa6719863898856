#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace launcher::host {

// How GPUs reach a container: Docker's `--gpus "device=…"` through the NVIDIA runtime (the
// default), or the Container Device Interface, `--device nvidia.com/gpu=…`, resolved by the
// engine from the spec `nvidia-ctk cdi generate` writes (Docker ≥ 25, Podman ≥ 4.1). The host's
// setting, never a profile's: whether a CDI spec exists is a fact of the machine.
enum class GpuRuntime { nvidia, cdi };

// The setting and who made it: "default" or the variable's name.
struct GpuRuntimeSetting {
  GpuRuntime runtime = GpuRuntime::nvidia;
  std::string source = "default";
};

inline constexpr const char* gpu_runtime_variable = "LAUNCHER_GPU_RUNTIME";

// "nvidia" or "cdi"; anything else is a usage Error naming `source` and the value.
GpuRuntime parse_gpu_runtime(std::string_view text, const std::string& source);
std::string gpu_runtime_name(GpuRuntime runtime);

// The CDI kind nvidia-ctk names NVIDIA GPUs under; `all` is every GPU.
inline constexpr std::string_view nvidia_cdi_kind = "nvidia.com/gpu";

// A device as the plan names it ("0", "GPU-<uuid>", "0:1" for MIG device 1 of GPU 0, "MIG-<uuid>",
// "all") as nvidia-ctk's spec names it (its default strategies "index" and "uuid" since toolkit
// 1.15): "nvidia.com/gpu=0". nullopt for a name CDI cannot carry, such as the legacy MIG form
// "MIG-GPU-<uuid>/1/0" (CDI names hold only letters, digits, '_', '-', '.' and ':').
std::optional<std::string> cdi_device_name(const std::string& device);

// The reverse, for what an engine reports back: "nvidia.com/gpu=1:0" gives "1:0"; nullopt for
// another vendor's device.
std::optional<std::string> device_of_cdi_name(std::string_view name);

} // namespace launcher::host
