#pragma once

#include "plan/plan.hpp"

namespace launcher::lifecycle {

// Makes the host directories of the plan's volumes that say "create": true (what `up` and
// `export` do before the container starts). A failure is one line naming the volume (host path
// and container path) and the reason, not a filesystem_error.
void create_volume_directories(const plan::Plan& plan);

} // namespace launcher::lifecycle
