#include "gpu/cdi.hpp"

#include <algorithm>

#include "core/text.hpp"
#include "host/gpu_runtime.hpp"

namespace launcher::gpu {

namespace {

bool qualified_name(std::string_view word) {
  std::size_t slash = word.find('/'), equals = word.find('=');
  return slash != std::string_view::npos && slash > 0 && equals != std::string_view::npos && equals > slash + 1 &&
         equals + 1 < word.size() && word.find_first_of(" \t\r") == std::string_view::npos;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A driver version ("580.159.04", "470.199.02") at the start of `text`: a major of three digits
// or more, then dotted numbers; the ABI suffixes next to it ("libcuda.so.1") are none.
std::optional<std::string> driver_version_at(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && (is_digit(text[end]) || text[end] == '.'))
    ++end;
  std::string_view version = text.substr(0, end);
  std::size_t major = version.find('.');
  if (major == std::string_view::npos || major < 3 || !is_digit(version.back()) ||
      version.find("..") != std::string_view::npos)
    return std::nullopt;
  return std::string(version);
}

} // namespace

std::vector<std::string> parse_cdi_list(std::string_view out) {
  std::vector<std::string> names;
  for (const auto& line : split(out, '\n'))
    if (qualified_name(line)) names.push_back(line);
  return names;
}

std::vector<std::string> discovered_cdi_devices(const JsonReader& info) {
  std::vector<std::string> names;
  if (auto devices = info.find("DiscoveredDevices"))
    for (const auto& device : devices->elements())
      if (device.string_or("Source", "") == "cdi") names.push_back(device.at("ID").string());
  return names;
}

std::vector<std::string> nvidia_cdi_devices(const std::vector<std::string>& names) {
  std::vector<std::string> nvidia;
  for (const auto& name : names)
    if (host::device_of_cdi_name(name)) nvidia.push_back(name);
  return nvidia;
}

std::optional<std::string> spec_driver_version(std::string_view spec) {
  for (std::string_view library : {"libcuda.so.", "libnvidia-ml.so."})
    for (std::size_t at = spec.find(library); at != std::string_view::npos; at = spec.find(library, at + 1))
      if (auto version = driver_version_at(spec.substr(at + library.size()))) return version;
  return std::nullopt;
}

std::vector<std::string> missing_cdi_devices(const std::vector<std::string>& requested,
                                             const std::vector<std::string>& listed) {
  std::vector<std::string> missing;
  for (const auto& name : requested)
    if (std::find(listed.begin(), listed.end(), name) == listed.end()) missing.push_back(name);
  return missing;
}

} // namespace launcher::gpu
