#pragma once

#include <string_view>

namespace launcher::profile {

// The profiles compiled into the binary, in the profile file format; the lowest precedence.
std::string_view builtin_profiles_json();

} // namespace launcher::profile
