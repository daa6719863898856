#pragma once

#include <stdexcept>
#include <string>

namespace launcher {

// Exit codes are part of the interface: scripts branch on them.
enum class ExitCode : int {
  ok = 0,
  failed = 1,
  usage = 2,          // bad usage or an invalid profile
  host_incapable = 3, // the host cannot run what was asked (GPUs, driver, toolkit)
};

// The one error type: a user-facing message and the exit code it ends with.
// Lower layers throw it; main catches it once and prints "launcher: error: <message>".
class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

private:
  ExitCode code_;
};

} // namespace launcher
