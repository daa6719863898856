#include "doctor/report.hpp"

#include <fmt/format.h>

namespace launcher::doctor {

namespace {

struct Counts {
  int ok = 0, warn = 0, fail = 0;
};

Counts count(const std::vector<CheckResult>& results) {
  Counts counts;
  for (const auto& result : results)
    ++(result.status == Status::ok ? counts.ok : result.status == Status::warn ? counts.warn : counts.fail);
  return counts;
}

} // namespace

std::string format_report(const std::vector<CheckResult>& results) {
  std::size_t id_width = 5;
  for (const auto& result : results)
    id_width = std::max(id_width, result.id.size());
  std::string text = fmt::format("{:<{}}  {:<6} {}\n", "CHECK", id_width, "STATUS", "RESULT");
  for (const auto& result : results) {
    text += fmt::format("{:<{}}  {:<6} {}\n", result.id, id_width, status_name(result.status), result.message);
    if (!result.fix.empty()) text += fmt::format("{:<{}}  {:<6} fix: {}\n", "", id_width, "", result.fix);
  }
  Counts counts = count(results);
  return text + fmt::format("{} OK, {} WARN, {} FAIL\n", counts.ok, counts.warn, counts.fail);
}

nlohmann::json report_json(const std::vector<CheckResult>& results, const HostSnapshot& snapshot) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& result : results)
    checks.push_back(
        {{"id", result.id}, {"status", status_name(result.status)}, {"message", result.message}, {"fix", result.fix}});
  Counts counts = count(results);
  return {{"checks", checks},
          {"summary", {{"ok", counts.ok}, {"warn", counts.warn}, {"fail", counts.fail}}},
          {"facts", to_json(snapshot)}};
}

} // namespace launcher::doctor
