#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace launcher::exporting {

// A JSON value as block-style YAML: 2-space indent, sequences indented under their key, keys in
// the JSON's (sorted) order, a final newline. A string is written plain only when no YAML 1.1 or
// 1.2 reader could take it for anything else; otherwise double-quoted. Throws Error when a
// string is not valid UTF-8.
std::string to_yaml(const nlohmann::json& value);

} // namespace launcher::exporting
