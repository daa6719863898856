#pragma once

#include <optional>
#include <string>
#include <vector>

#include "profile/origin.hpp"
#include "profile/schema.hpp"

namespace launcher::profile {

// The command-line flags that override a profile, as the user typed them.
struct FlagOverrides {
  std::optional<std::string> gpus;
  std::optional<std::string> image;
  std::optional<std::string> name;
  std::optional<std::string> user;  // host | root | UID:GID[:NAME]
  std::vector<std::string> ports;   // [IP:]HOST:CONTAINER[/PROTOCOL], HOST may be "auto"
  std::vector<std::string> volumes; // HOST:CONTAINER[:ro|:rw]
  std::vector<std::string> env;     // NAME=VALUE
};

// One validated layer per flag, in the order given, each with the flag as its origin.
// `context` gives the working directory and home; its source name is replaced per flag.
std::vector<Sourced> flag_layers(const FlagOverrides& flags, const FieldContext& context);

} // namespace launcher::profile
