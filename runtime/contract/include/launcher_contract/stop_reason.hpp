#pragma once

// Why an env stopped itself: launcher-init decides it inside and exits with one of these statuses;
// `ps` reads the status back from `docker inspect` (State.ExitCode) together with the settings the
// container was started with (Config.Env, the GPU label), and both say it in the same words.
// Docker keeps all of that with the stopped container, so no exec, no writable mount, no file.

#include <chrono>
#include <string>
#include <vector>

namespace launcher::contract {

namespace stop_status {
inline constexpr int idle = 80;    // no activity for the profile's idle.stop_after
inline constexpr int max_age = 81; // the profile's max_age passed since the start
} // namespace stop_status

// "2h", "1h30m", "20s", "3d": the form profiles write durations in; "0s" for zero.
inline std::string format_duration(std::chrono::seconds duration) {
  long long left = duration.count();
  if (left <= 0) return "0s";
  std::string text;
  for (auto [unit, size] : {std::pair{'d', 86400LL}, {'h', 3600LL}, {'m', 60LL}, {'s', 1LL}}) {
    if (left >= size) text += std::to_string(left / size) + unit;
    left %= size;
  }
  return text;
}

// What an idle stop waited for. `gpus` as the GPU label says it: "none", "all" or "0,1".
struct IdleStop {
  std::chrono::seconds stop_after{0};
  int gpu_util_below = 5; // percent
  bool jupyter = false;
  bool ssh = false;
  std::string gpus = "none";
};

// "idle 2h (no kernel busy, no ssh session, GPU 0 util < 5%)"
inline std::string describe_idle_stop(const IdleStop& stop) {
  std::vector<std::string> conditions;
  if (stop.jupyter) conditions.push_back("no kernel busy");
  if (stop.ssh) conditions.push_back("no ssh session");
  std::string below = " util < " + std::to_string(stop.gpu_util_below) + "%";
  if (stop.gpus == "all")
    conditions.push_back("every GPU" + below);
  else if (!stop.gpus.empty() && stop.gpus != "none")
    conditions.push_back((stop.gpus.find(',') == std::string::npos ? "GPU " : "GPUs ") + stop.gpus + below);
  std::string text = "idle " + format_duration(stop.stop_after);
  for (std::size_t i = 0; i < conditions.size(); ++i)
    text += (i == 0 ? " (" : ", ") + conditions[i];
  return conditions.empty() ? text : text + ")";
}

// "max_age 72h"
inline std::string describe_max_age_stop(std::chrono::seconds max_age) { return "max_age " + format_duration(max_age); }

} // namespace launcher::contract
