#pragma once

#include <iosfwd>
#include <string>

namespace launcher::commands {

// What every subcommand may use: global options and where output goes.
struct Context {
  std::string docker = "docker"; // --docker or $LAUNCHER_DOCKER: the Docker CLI to spawn
  std::ostream* out = nullptr;
  std::ostream* err = nullptr; // progress and notices; results go to `out`
};

} // namespace launcher::commands
