#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace launcher {

// The closest candidate by edit distance, if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

std::vector<std::string> split(std::string_view text, char separator);

bool starts_with(std::string_view text, std::string_view prefix);

// A value as JSON text, cut to a readable length, for "found ..." in error messages. Never
// throws: bytes that are not UTF-8 are shown as \xNN.
std::string quote_for_message(std::string_view text);

// Why a value that is not UTF-8 is refused: Docker's API is JSON, and the engine (Go) replaces
// such bytes with U+FFFD, so a path or environment value could not reach the container intact.
inline constexpr const char* not_utf8_for_docker = "is not UTF-8 (Docker's API would replace those bytes with U+FFFD)";

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 written as \xNN, so that a
// message naming it can be printed and turned into JSON.
std::string escape_invalid_utf8(std::string_view text);

enum class Newlines { escape, keep };

// Text from another program (the engine's stderr, a container's name or status, its log) made
// safe to print: every control character (C0 but newline when kept, DEL, C1 such as U+009B) and
// every byte that is not well-formed UTF-8 is written as \xNN (\u0080-\u009f for C1), so no
// escape sequence from outside reaches the terminal. Printable text, tabs included as \x09, is
// otherwise unchanged.
std::string escape_control_characters(std::string_view text, Newlines newlines = Newlines::escape);

// [A-Za-z0-9] without the locale: names are checked by hand, not with std::regex, whose matcher
// recurses once per character and overflows the stack on long input.
inline bool is_ascii_alphanumeric(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [A-Za-z_][A-Za-z0-9_]*: a name the shell, Docker's -e and ${NAME} interpolation all accept.
bool is_environment_name(std::string_view name);

} // namespace launcher
