#include "core/env_name.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher {

namespace {

bool is_name_character(char c) { return is_ascii_alphanumeric(c) || c == '_' || c == '.' || c == '-'; }

} // namespace

std::string env_name_problem(std::string_view text) {
  if (text.empty()) return "it is empty";
  if (text == "." || text == "..") return "it names a directory";
  if (text.find('/') != std::string_view::npos) return "it contains '/'";
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return "it contains a control character";
  if (text.size() > max_env_name_length) return "it is " + std::to_string(text.size()) + " characters long";
  if (!is_ascii_alphanumeric(text.front())) return "it does not start with a letter or digit";
  if (!std::all_of(text.begin(), text.end(), is_name_character)) return "it contains other characters";
  if (text.size() < 2) return "it is 1 character long";
  return "";
}

EnvName EnvName::parse(std::string_view text) {
  if (std::string problem = env_name_problem(text); !problem.empty())
    throw Error(ExitCode::usage,
                "invalid environment name " + quote_for_message(text) + ": " + problem + "; " + env_name_rule);
  return EnvName(std::string(text));
}

} // namespace launcher
