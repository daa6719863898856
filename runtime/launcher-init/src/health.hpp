#pragma once

#include "settings.hpp"

namespace launcher_init {

// 0 when every configured service answers on its port: sshd with an SSH banner, Jupyter with
// 403 from /api/status without credentials (alive, and authentication enforced; the check never
// holds the token). Prints one line per service that does not answer.
int check_health(const Settings& settings);

} // namespace launcher_init
