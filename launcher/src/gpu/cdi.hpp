#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_reader.hpp"

namespace launcher::gpu {

// The fix for every CDI finding: the spec NVIDIA's documentation has the admin generate.
inline constexpr const char* cdi_generate_fix = "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml";
// Why `nvidia-ctk cdi list` gave no list when the program is missing (exit 127).
inline constexpr const char* nvidia_ctk_missing = "nvidia-ctk is not installed";

// `nvidia-ctk cdi list`'s standard output: one fully qualified device name a line
// ("nvidia.com/gpu=0"). Its "Found N CDI devices" goes to standard error; any line that is not
// a "vendor/class=name" word is skipped.
std::vector<std::string> parse_cdi_list(std::string_view out);

// `docker info`'s DiscoveredDevices (Docker 28.2 and later): the IDs of the entries whose Source
// is "cdi". Empty when the engine lists none or is older (the field is then absent).
std::vector<std::string> discovered_cdi_devices(const JsonReader& info);

// The NVIDIA devices among qualified CDI names.
std::vector<std::string> nvidia_cdi_devices(const std::vector<std::string>& names);

// The driver version a spec was generated for. nvidia-ctk mounts the driver's libraries by their
// versioned file names ("libcuda.so.580.159.04"), the same in YAML and JSON specs, so a scan of
// the text finds it without a YAML parser; nullopt when the spec names no such library.
std::optional<std::string> spec_driver_version(std::string_view spec);

// The requested names that the listed ones lack, in the order requested.
std::vector<std::string> missing_cdi_devices(const std::vector<std::string>& requested,
                                             const std::vector<std::string>& listed);

} // namespace launcher::gpu
