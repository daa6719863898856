#pragma once

#include <iosfwd>

#include "commands/context.hpp"

namespace launcher::cli {

// The whole program behind main: parses argv, runs one subcommand, maps errors to exit codes.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// The same with the seams given: the unit tests of the commands pass a recording fake Docker,
// replayed host facts and a test clock. `context.out` and `context.err` must be set.
int run(int argc, char** argv, commands::Context& context);

} // namespace launcher::cli
