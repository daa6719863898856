#pragma once

#include <iosfwd>

namespace launcher::cli {

// The whole program behind main: parses argv, runs one subcommand, maps errors to exit codes.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

} // namespace launcher::cli
