#include "matrix/version.hpp"

#include <algorithm>

namespace launcher::matrix {

std::vector<int> version_fields(std::string_view version) {
  std::vector<int> fields;
  int value = 0;
  bool in_field = false;
  for (char c : version) {
    if (c >= '0' && c <= '9') {
      // Saturates: a version field from another program's output may have any number of digits.
      value = value > 99999999 ? value : value * 10 + (c - '0');
      in_field = true;
    } else if (c == '.') {
      fields.push_back(value);
      value = 0;
      in_field = false;
    } else {
      break;
    }
  }
  if (in_field) fields.push_back(value);
  return fields;
}

int compare_versions(std::string_view left, std::string_view right) {
  std::vector<int> a = version_fields(left), b = version_fields(right);
  std::size_t size = std::max(a.size(), b.size());
  a.resize(size);
  b.resize(size);
  for (std::size_t i = 0; i < size; ++i)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

int major_version(std::string_view version) {
  std::vector<int> fields = version_fields(version);
  return fields.empty() ? 0 : fields.front();
}

} // namespace launcher::matrix
