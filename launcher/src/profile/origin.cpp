#include "profile/origin.hpp"

namespace launcher::profile {

const Origin& Sourced::origin_of(const std::string& pointer) const {
  // A pointer with no origin of its own belongs to its nearest recorded ancestor.
  std::string key = pointer;
  while (!key.empty()) {
    if (auto found = origins.find(key); found != origins.end()) return found->second;
    key = key.substr(0, key.rfind('/'));
  }
  static const Origin unknown{"unknown", ""};
  return unknown;
}

std::string child_pointer(const std::string& parent, const std::string& key) {
  std::string escaped;
  for (char c : key) {
    if (c == '~')
      escaped += "~0";
    else if (c == '/')
      escaped += "~1";
    else
      escaped += c;
  }
  return parent + "/" + escaped;
}

std::string child_pointer(const std::string& parent, std::size_t index) { return parent + "/" + std::to_string(index); }

} // namespace launcher::profile
