#include "host/gpu_runtime.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::host {

GpuRuntime parse_gpu_runtime(std::string_view text, const std::string& source) {
  if (text == "nvidia") return GpuRuntime::nvidia;
  if (text == "cdi") return GpuRuntime::cdi;
  throw Error(ExitCode::usage,
              source + ": unknown GPU runtime " + quote_for_message(text) + "; expected \"nvidia\" or \"cdi\"");
}

std::string gpu_runtime_name(GpuRuntime runtime) { return runtime == GpuRuntime::cdi ? "cdi" : "nvidia"; }

std::optional<std::string> cdi_device_name(const std::string& device) {
  auto alphanumeric = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (device.empty() || !alphanumeric(device.front()) || !alphanumeric(device.back())) return std::nullopt;
  for (char c : device)
    if (!alphanumeric(c) && c != '_' && c != '-' && c != '.' && c != ':') return std::nullopt;
  return std::string(nvidia_cdi_kind) + "=" + device;
}

std::optional<std::string> device_of_cdi_name(std::string_view name) {
  std::string prefix = std::string(nvidia_cdi_kind) + "=";
  if (!starts_with(name, prefix) || name.size() == prefix.size()) return std::nullopt;
  return std::string(name.substr(prefix.size()));
}

} // namespace launcher::host
