#include "profile/public_key.hpp"

#include <algorithm>
#include <string_view>

#include "core/text.hpp"

namespace launcher::profile {

bool is_literal_public_key(const std::string& text) {
  // "(ssh|ecdsa|sk)-[a-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?", by hand: a regular expression recurses
  // once per character and overflows the stack on a long line.
  auto type_character = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '@' || c == '.' || c == '-';
  };
  auto base64_character = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
  };
  std::string_view rest = text;
  std::size_t prefix = starts_with(rest, "ssh-")     ? 4
                       : starts_with(rest, "ecdsa-") ? 6
                       : starts_with(rest, "sk-")    ? 3
                                                     : 0;
  if (prefix == 0) return false;
  rest.remove_prefix(prefix);
  std::size_t type_end = rest.find(' ');
  if (type_end == 0 || type_end == std::string_view::npos ||
      !std::all_of(rest.begin(), rest.begin() + type_end, type_character))
    return false;
  rest.remove_prefix(type_end + 1);
  std::string_view key = rest.substr(0, rest.find(' '));
  return !key.empty() && std::all_of(key.begin(), key.end(), base64_character);
}

} // namespace launcher::profile
