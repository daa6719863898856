#include "error.hpp"

#include <cstring>

namespace launcher_init {

Error::Error(const std::string& message, int exit_status) : std::runtime_error(message), exit_status_(exit_status) {}

Error failure(std::string_view verb, std::string_view object, std::string_view reason, int exit_status) {
  std::string message = "failed to ";
  message.append(verb).append(": ").append(object).append(": ").append(reason);
  return Error(message, exit_status);
}

Error system_failure(std::string_view verb, std::string_view object, int error_number) {
  return failure(verb, object, std::strerror(error_number));
}

} // namespace launcher_init
