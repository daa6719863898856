#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "profile/gpu_request.hpp"

namespace launcher::profile {

// Where a value was set: a file and the JSON pointer inside it, "built-in", "default",
// or one command-line flag (whose pointer is empty: the flag itself is the culprit).
struct Origin {
  std::string source;
  std::string pointer;

  std::string describe() const { return pointer.empty() ? source : source + ":" + pointer; }
};

// One profile's fields and where each came from. Origins are keyed by JSON pointer into
// `fields`: "/image" for whole values, "/env/NAME" for map entries, "/ports/0" for list items.
// The GPU request is held as the GpuRequest validation made of it (its origin under "/gpus"),
// so that resolution places exactly what was validated and never parses it again.
struct Sourced {
  nlohmann::json fields = nlohmann::json::object();
  std::optional<GpuRequest> gpus; // absent: this layer does not say
  std::map<std::string, Origin> origins;

  const Origin& origin_of(const std::string& pointer) const;
};

// RFC 6901 pointer of a child key.
std::string child_pointer(const std::string& parent, const std::string& key);
std::string child_pointer(const std::string& parent, std::size_t index);

} // namespace launcher::profile
