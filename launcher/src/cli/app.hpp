#pragma once

#include <functional>
#include <iosfwd>

#include "commands/context.hpp"

namespace launcher::cli {

// The whole program behind main: parses argv, runs one subcommand, maps errors to exit codes.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// The same with the seams given: the unit tests of the commands pass a recording fake Docker,
// replayed host facts and a test clock. `context.out` and `context.err` must be set.
int run(int argc, char** argv, commands::Context& context);
// Returns what `action` returns. Whatever it throws ends as one line "launcher: error: ..." on
// `err` and an exit code: an Error's own, 1 for anything else (a JSON library's exception, a
// bad_alloc), never std::terminate's abort.
int run_reporting_errors(const std::function<int()>& action, std::ostream& err);

} // namespace launcher::cli
