#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace launcher_init {

// Exit statuses shared with the launcher's conventions.
inline constexpr int exit_failed = 1;
inline constexpr int exit_bad_usage = 2;

// The one error type: a one-line message for the container log and the exit status.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message, int exit_status = exit_failed);
  int exit_status() const noexcept { return exit_status_; }

private:
  int exit_status_;
};

// Every error reads "failed to <verb>: <object>: <reason>", as enroot's init does.
Error failure(std::string_view verb, std::string_view object, std::string_view reason, int exit_status = exit_failed);
Error system_failure(std::string_view verb, std::string_view object, int error_number = errno);

} // namespace launcher_init
