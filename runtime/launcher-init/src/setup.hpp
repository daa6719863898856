#pragma once

#include <vector>

#include "settings.hpp"
#include "supervisor.hpp"

namespace launcher_init {

// Privileged setup, in this order: find the programs and read every secret (nothing is changed
// when one is missing), create the account, then write each service's runtime files. Returns
// what to supervise.
std::vector<ServiceSpec> set_up(const Settings& settings, const Invocation& invocation, const Environment& inherited);

} // namespace launcher_init
