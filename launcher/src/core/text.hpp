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

// A value as JSON text, cut to a readable length, for "found ..." in error messages.
std::string quote_for_message(std::string_view text);

} // namespace launcher
