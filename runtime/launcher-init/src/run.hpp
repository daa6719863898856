#pragma once

namespace launcher_init {

// The whole program: `launcher-init` (set up, then supervise) or `launcher-init health`.
int run(int argc, const char* const* argv, const char* const* envp);

} // namespace launcher_init
