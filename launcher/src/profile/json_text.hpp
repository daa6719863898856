#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace launcher::profile {

// Parses the JSON text of a profile file. Every failure is an Error (usage) naming the source
// and, where there is one, the line and column: a syntax error, a NUL byte, nesting deeper than
// max_json_depth (found by a scan before the parser sees the text), a number beyond a double,
// and a key given twice in one object (JSON parsers keep only the last: a second "profiles"
// would silently drop the first one's profiles), which names both lines.
nlohmann::json parse_json_text(std::string_view text, const std::string& source_name);

// "3:12": the line and column (both from 1, columns in bytes) of byte `offset` of `text`.
std::string line_and_column(std::string_view text, std::size_t offset);

} // namespace launcher::profile
