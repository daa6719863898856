#pragma once

#include <functional>
#include <iosfwd>

#include "commands/context.hpp"

namespace launcher::cli {

// What main runs: standard output through a checked buffer (a failed write, flush or close is
// "launcher: error: cannot write to standard output: <reason>" and exit 1), SIGPIPE ignored,
// closed standard descriptors held on /dev/null. Then `run`.
int run_main(int argc, char** argv);

// The whole program behind main: parses argv, runs one subcommand, maps errors to exit codes.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

// The same with the seams given: the unit tests of the commands pass a recording fake Docker,
// replayed host facts and a test clock. `context.out` and `context.err` must be set. A command
// whose output did not reach `context.out` (the stream turned bad) ends with exit 1 and a line
// saying so, the reason taken from an FdOutputBuffer.
int run(int argc, char** argv, commands::Context& context);
// Returns what `action` returns. Whatever it throws ends as one line "launcher: error: ..." on
// `err` and an exit code: an Error's own, 1 for anything else (a JSON library's exception, a
// bad_alloc), never std::terminate's abort.
int run_reporting_errors(const std::function<int()>& action, std::ostream& err);

} // namespace launcher::cli
