#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace launcher {

// The longest environment name: 63, the DNS label limit. An env's name is its container's name,
// which Docker's embedded DNS resolves on the env's network (a longer label cannot be looked up),
// and it names files in the state directory (".<env>.lock" stays far below NAME_MAX).
inline constexpr std::size_t max_env_name_length = 63;

// What an environment name must be, for messages.
inline constexpr const char* env_name_rule =
    "an environment name is a letter or digit, then letters, digits, '_', '.' or '-' (2 to 63 characters)";

// Why `text` is no environment name, "" when it is one. Docker's container-name rule
// [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most max_env_name_length long: so no "", ".", "..", '/', NUL or
// control character can reach a path built from it.
std::string env_name_problem(std::string_view text);

// An environment name that passed env_name_problem: the only type a path under the state
// directory, a lock or a container lookup is built from.
class EnvName {
public:
  // Throws Error(usage) naming the value (escaped) and the rule.
  static EnvName parse(std::string_view text);

  const std::string& str() const { return value_; }
  operator const std::string&() const { return value_; } // NOLINT: a valid name is a string everywhere
  bool operator==(const EnvName&) const = default;

private:
  explicit EnvName(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

} // namespace launcher
