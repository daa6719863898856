#include "profile/interpolate.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::profile {

std::string interpolate(std::string_view text, const EnvLookup& lookup) {
  std::string result;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size() || (text[i + 1] != '{' && text[i + 1] != '$')) {
      result += text[i++];
      continue;
    }
    if (text[i + 1] == '$') {
      result += '$';
      i += 2;
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos)
      throw Error(ExitCode::usage, "unterminated \"${\" in " + quote_for_message(text));
    std::string_view inner = text.substr(i + 2, close - i - 2);
    std::size_t default_at = inner.find(":-");
    std::string name(inner.substr(0, default_at));
    if (!is_environment_name(name))
      throw Error(ExitCode::usage, "bad variable name " + quote_for_message(name) + " in " + quote_for_message(text) +
                                       " (expected ${NAME} or ${NAME:-default})");
    auto value = lookup(name);
    if (value && !(value->empty() && default_at != std::string_view::npos)) {
      if (!is_valid_utf8(*value))
        throw Error(ExitCode::usage,
                    "variable " + name + " holds " + quote_for_message(*value) + ", which " + not_utf8_for_docker);
      result += *value;
    } else if (default_at != std::string_view::npos) {
      result += inner.substr(default_at + 2);
    } else {
      throw Error(ExitCode::usage,
                  "variable " + name + " is not set (set it, or write ${" + name + ":-value} to give a default)");
    }
    i = close + 1;
  }
  return result;
}

} // namespace launcher::profile
