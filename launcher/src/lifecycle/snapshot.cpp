#include "lifecycle/snapshot.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace launcher::lifecycle {

namespace {

bool is_tag_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// One path component of a repository: lowercase letters and digits, separated by '.', '_', '__' or '-'s.
bool is_path_component(const std::string& component) {
  if (component.empty() || !std::isalnum(static_cast<unsigned char>(component.front())) ||
      !std::isalnum(static_cast<unsigned char>(component.back())))
    return false;
  return std::all_of(component.begin(), component.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c))) || c == '.' ||
           c == '_' || c == '-';
  });
}

} // namespace

std::string default_snapshot_tag(const std::string& image, const std::string& env, std::time_t when) {
  std::string name = image.substr(0, image.find('@'));
  std::string tag = "latest";
  if (auto colon = name.rfind(':'); colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    tag = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  std::tm utc{};
  gmtime_r(&when, &utc);
  return fmt::format("{}:{}-snapshot-{}-{:04}{:02}{:02}-{:02}{:02}", name, tag, env, utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min);
}

std::string image_reference_problem(const std::string& reference) {
  if (reference.empty()) return "it is empty";
  if (reference.find('@') != std::string::npos)
    return "a digest (@sha256:...) is Docker's to give, not a name to choose";
  std::string repository = reference, tag;
  if (auto colon = reference.rfind(':');
      colon != std::string::npos && reference.find('/', colon) == std::string::npos) {
    repository = reference.substr(0, colon);
    tag = reference.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !std::all_of(tag.begin(), tag.end(), is_tag_character) ||
        tag.front() == '.' || tag.front() == '-')
      return "the tag \"" + tag + "\" is not 1-128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')";
  }
  if (repository.size() > 255) return "the repository name is longer than 255 characters";
  // The first component may be a registry host ("registry.example.com:5000").
  std::size_t start = 0;
  if (auto slash = repository.find('/'); slash != std::string::npos) {
    std::string first = repository.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") start = slash + 1;
  }
  for (std::size_t begin = start; begin <= repository.size();) {
    std::size_t end = std::min(repository.find('/', begin), repository.size());
    std::string component = repository.substr(begin, end - begin);
    if (!is_path_component(component))
      return "\"" + component + "\" in the repository is not lowercase letters and digits separated by '.', '_' or '-'";
    begin = end + 1;
  }
  return "";
}

} // namespace launcher::lifecycle
