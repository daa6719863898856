#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace launcher::profile {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Expands ${VAR} and ${VAR:-default}; "$$" is a literal "$". An unset variable without a
// default, an unterminated "${", a bad variable name or a value that is not UTF-8 throws Error
// naming the variable.
std::string interpolate(std::string_view text, const EnvLookup& lookup);

} // namespace launcher::profile
