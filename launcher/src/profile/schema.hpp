#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/gpu_request.hpp"
#include "profile/interpolate.hpp"

namespace launcher::profile {

// What validating one source needs to know about where it came from.
// A ${NAME} that a file's value at `pointer` took from the launcher's environment.
struct VariableRead {
  std::string pointer;
  std::string name;

  bool operator==(const VariableRead& other) const { return pointer == other.pointer && name == other.name; }
};

struct FieldContext {
  std::string source;                         // shown in every message: a file path, "built-in", a flag
  std::filesystem::path base_dir;             // relative host paths resolve against it
  std::filesystem::path home;                 // "~" expands to it
  const EnvLookup* env = nullptr;             // ${VAR} is expanded only where this is set (files)
  std::vector<VariableRead>* reads = nullptr; // where set, every ${NAME} expanded is recorded here
};

// Length limits, each with its own error. Every profile string ends up as (part of) one argument
// of `docker run`, and Linux refuses a single argument longer than MAX_ARG_STRLEN (128 KiB).
inline constexpr std::size_t max_argument_bytes = 131071;
inline constexpr std::size_t max_name_length = 128;             // container, environment and profile names
inline constexpr std::size_t max_path_bytes = 4095;             // PATH_MAX without its NUL
inline constexpr std::uint64_t min_memory_limit = 256ULL << 20; // what Jupyter or sshd needs to start
inline constexpr std::size_t max_image_reference_length = 512;  // Docker: a name <= 255, a tag <= 128, a digest

// The fields validation hands on as typed values, taken out of the JSON.
struct TypedFields {
  std::optional<GpuRequest> gpus;
};

// Validates one profile object and normalizes it in place: variables expanded, host paths
// absolute, defaults of list items filled in, sizes in bytes, ulimits as {soft, hard}; "gpus"
// leaves the JSON as the returned GpuRequest.
// Throws Error(usage) "<source>:<pointer>: expected <what>, found <value>" on the first problem.
TypedFields normalize_profile(nlohmann::json& profile, const FieldContext& context, const std::string& pointer);

// Names Docker accepts for containers; profile and environment names follow the same rule.
bool is_valid_container_name(const std::string& name);

// The opt-ins that unlock dangerous requests, by name.
const std::vector<std::string>& dangerous_opt_ins();

// The keys a profile may have, in documentation order.
std::vector<std::string> profile_keys();

} // namespace launcher::profile
