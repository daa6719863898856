#pragma once

// The reader of format_json's output, next to the writer so the schema lives in one place:
// `launcher doctor --gpu` reads gpu-check's and gpu-probe's --json with it. Built where
// nlohmann/json is found (the launcher's build); the tools themselves only write.

#include "probe_report/report.hpp"

#include <string_view>

namespace probe_report {

// What format_json wrote, back into the report it stands for: format_json of the result gives the
// same bytes. A null (non-finite) value reads as NaN, a null observed value as infinity, so its
// check still fails. Throws std::exception naming the first missing or mistyped field.
[[nodiscard]] RunReport parse_json(std::string_view text);

} // namespace probe_report
