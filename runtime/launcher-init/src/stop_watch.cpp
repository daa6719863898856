#include "stop_watch.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "launcher_contract/stop_reason.hpp"

namespace launcher_init {
namespace {

namespace contract = launcher::contract;
using std::chrono::seconds;

std::string gpus_text(const std::vector<GpuReading>& gpus) {
  if (gpus.empty()) return "none";
  std::string text;
  for (const auto& gpu : gpus)
    text += (text.empty() ? "" : ",") + gpu.index;
  return text;
}

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::optional<int> whole_number(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The string values of every `"key": "value"` in a JSON text that has no escapes in them (Jupyter's
// states and timestamps); a value that is no plain string is skipped.
std::vector<std::string_view> string_values(std::string_view body, std::string_view key) {
  std::vector<std::string_view> values;
  std::string quoted_key = "\"" + std::string(key) + "\"";
  for (auto at = body.find(quoted_key); at != std::string_view::npos; at = body.find(quoted_key, at + 1)) {
    auto rest = body.substr(at + quoted_key.size());
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
    if (!rest.starts_with(':')) continue;
    rest.remove_prefix(1);
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
    if (!rest.starts_with('"')) continue;
    auto end = rest.find_first_of("\"\\", 1);
    if (end == std::string_view::npos || rest[end] != '"') continue;
    values.push_back(rest.substr(1, end - 1));
  }
  return values;
}

} // namespace

std::vector<std::string> activity_in(const Observation& observation, const IdleSettings& idle) {
  std::vector<std::string> activity;
  if (observation.jupyter_unanswered) activity.push_back("Jupyter did not answer");
  if (observation.kernel_busy) activity.push_back("kernel busy");
  if (observation.ssh_sessions > 0)
    activity.push_back(std::to_string(observation.ssh_sessions) + " ssh session" +
                       (observation.ssh_sessions == 1 ? "" : "s"));
  for (const auto& gpu : observation.gpus) {
    if (gpu.utilization && *gpu.utilization >= idle.gpu_util_below)
      activity.push_back("GPU " + gpu.index + " util " + std::to_string(*gpu.utilization) + "%");
  }
  return activity;
}

seconds notice_lead(seconds window) { return std::min(seconds(300), window / 4); }

StopWatch::StopWatch(StopRules rules, WallClock::time_point started)
    : rules_(std::move(rules)), started_(started), idle_since_(started) {}

std::chrono::milliseconds StopWatch::period() const {
  std::optional<seconds> shortest;
  if (rules_.idle) shortest = rules_.idle->stop_after;
  if (rules_.max_age) shortest = std::min(shortest.value_or(*rules_.max_age), *rules_.max_age);
  auto tenth = std::chrono::duration_cast<std::chrono::milliseconds>(shortest.value_or(seconds(300))) / 10;
  return std::clamp<std::chrono::milliseconds>(tenth, seconds(1), seconds(30));
}

Verdict StopWatch::observe(const Observation& observation) {
  const auto at = observation.at;
  if (rules_.max_age) {
    auto deadline = started_ + *rules_.max_age;
    auto reason = contract::describe_max_age_stop(*rules_.max_age);
    if (at >= deadline) return {Verdict::Action::stop, reason, contract::stop_status::max_age, {}};
    if (!max_age_notified_ && at >= deadline - notice_lead(*rules_.max_age)) {
      max_age_notified_ = true;
      return {Verdict::Action::notify, reason, 0, std::chrono::ceil<seconds>(deadline - at)};
    }
  }
  if (!rules_.idle) return {};
  const auto& idle = *rules_.idle;
  bool used = !activity_in(observation, idle).empty();
  if (used) idle_since_ = at;
  if (observation.jupyter_last_activity && *observation.jupyter_last_activity > idle_since_) {
    idle_since_ = std::min(*observation.jupyter_last_activity, at);
    used = true;
  }
  if (used && idle_notified_) {
    idle_notified_ = false;
    return {Verdict::Action::withdraw, {}, 0, {}};
  }
  contract::IdleStop stop{idle.stop_after, idle.gpu_util_below, rules_.jupyter, rules_.ssh,
                          gpus_text(observation.gpus)};
  auto idle_for = at - idle_since_;
  if (idle_for >= idle.stop_after)
    return {Verdict::Action::stop, contract::describe_idle_stop(stop), contract::stop_status::idle, {}};
  if (!idle_notified_ && idle_for >= idle.stop_after - notice_lead(idle.stop_after)) {
    idle_notified_ = true;
    return {Verdict::Action::notify, contract::describe_idle_stop(stop), 0,
            std::chrono::ceil<seconds>(idle.stop_after - idle_for)};
  }
  return {};
}

std::optional<WallClock::time_point> parse_utc_time(std::string_view text) {
  // 2026-12-06T21:50:23[.123456](Z|+00:00)
  if (text.ends_with("Z"))
    text.remove_suffix(1);
  else if (text.ends_with("+00:00"))
    text.remove_suffix(6);
  else
    return std::nullopt;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  auto field = [&](std::size_t at, std::size_t length) { return whole_number(text.substr(at, length)); };
  auto year = field(0, 4), month = field(5, 2), day = field(8, 2);
  auto hour = field(11, 2), minute = field(14, 2), second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  long long microseconds = 0;
  if (text.size() > 19) {
    auto fraction = text.substr(20);
    if (text[19] != '.' || fraction.empty() || fraction.size() > 9 ||
        fraction.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    std::string digits(fraction.substr(0, std::min<std::size_t>(6, fraction.size())));
    digits.resize(6, '0');
    microseconds = *whole_number(digits);
  }
  std::tm time{};
  time.tm_year = *year - 1900;
  time.tm_mon = *month - 1;
  time.tm_mday = *day;
  time.tm_hour = *hour;
  time.tm_min = *minute;
  time.tm_sec = *second;
  std::time_t since_epoch = ::timegm(&time);
  return WallClock::from_time_t(since_epoch) + std::chrono::microseconds(microseconds);
}

std::optional<WallClock::time_point> last_activity_of_status(std::string_view body) {
  auto values = string_values(body, "last_activity");
  if (values.empty()) return std::nullopt;
  return parse_utc_time(values.front());
}

bool any_kernel_busy(std::string_view body) {
  auto states = string_values(body, "execution_state");
  return std::any_of(states.begin(), states.end(),
                     [](std::string_view state) { return state == "busy" || state == "starting"; });
}

std::vector<GpuReading> parse_gpu_utilization(std::string_view csv) {
  std::vector<GpuReading> gpus;
  while (!csv.empty()) {
    auto newline = csv.find('\n');
    auto line = trim(csv.substr(0, newline));
    csv.remove_prefix(newline == std::string_view::npos ? csv.size() : newline + 1);
    if (line.empty()) continue;
    auto comma = line.find(',');
    GpuReading gpu{std::string(trim(line.substr(0, comma))), std::nullopt};
    if (comma != std::string_view::npos) {
      auto utilization = whole_number(trim(line.substr(comma + 1)));
      if (utilization && *utilization >= 0 && *utilization <= 100) gpu.utilization = utilization;
    }
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

} // namespace launcher_init
