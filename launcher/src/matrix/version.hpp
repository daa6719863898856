#pragma once

#include <string_view>
#include <vector>

namespace launcher::matrix {

// The numeric fields of a dotted version ("570.124.06" -> 570, 124, 6); anything after the
// first character that is neither a digit nor a dot ("+dfsg1", "-ce") is a build suffix and ignored.
std::vector<int> version_fields(std::string_view version);

// <0, 0 or >0 like strcmp, comparing fields as numbers; missing fields count as 0 ("12.8" == "12.8.0").
int compare_versions(std::string_view left, std::string_view right);

// The first field: the driver branch of "570.124.06", the CUDA major of "12.8".
int major_version(std::string_view version);

} // namespace launcher::matrix
