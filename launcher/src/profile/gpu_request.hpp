#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace launcher::profile {

// What a profile asks for, before the host is known.
struct GpuRequest {
  enum class Kind {
    automatic, // every GPU when the host has any, none otherwise (the default)
    all,
    none,
    count,   // the first N GPUs
    select,  // {"count": N}: N GPUs chosen on the host
    devices, // indices, GPU UUIDs, MIG UUIDs or GPU:MIG index pairs
  };
  Kind kind = Kind::automatic;
  int count = 0;
  std::vector<std::string> devices;

  bool operator==(const GpuRequest&) const = default;
};

// Thrown with the reason a GPU spec does not parse; the caller adds where it was found.
class GpuSpecError : public std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

inline constexpr const char* gpu_spec_expected =
    "\"all\", \"none\", \"auto\", a GPU count >= 1, \"device=0,1\", a list of GPU indices or UUIDs, or "
    "{\"count\": N}";

// A GPU list string ("device=0,1,...") and a list of entries have these limits, each its own error.
inline constexpr std::size_t max_gpu_spec_length = 4096;
inline constexpr std::size_t max_gpu_list_entries = 1024;

// Parses a profile's "gpus" value or a --gpus flag given as a JSON string.
GpuRequest parse_gpu_request(const nlohmann::json& value);

} // namespace launcher::profile
