#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/checks.hpp"

namespace launcher::doctor {

// The human table: one row per check, its fix indented below it, and a count line.
std::string format_report(const std::vector<CheckResult>& results);

// {"checks": [...], "summary": {"ok", "warn", "fail"}, "facts": <to_json(snapshot)>}.
nlohmann::json report_json(const std::vector<CheckResult>& results, const HostSnapshot& snapshot);

} // namespace launcher::doctor
