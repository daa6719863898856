#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "settings.hpp"

namespace launcher_init {

// Jupyter's timestamps are wall-clock times, so every observation is one too.
using WallClock = std::chrono::system_clock;

struct GpuReading {
  std::string index;              // as nvidia-smi numbers the GPUs the env sees
  std::optional<int> utilization; // percent; nullopt: not reported ("[N/A]", MIG instances)
};

// One look at the env: what launcher-init saw at `at`.
struct Observation {
  WallClock::time_point at;
  bool jupyter_unanswered = false; // Jupyter did not answer: nothing is known, so it counts as use
  bool kernel_busy = false;
  std::optional<WallClock::time_point> jupyter_last_activity; // Jupyter's own: clients and kernels
  int ssh_sessions = 0;
  std::vector<GpuReading> gpus; // empty: no GPU or no nvidia-smi, which holds as idle
};

// What in `observation` counts as use, in words ("kernel busy", "1 ssh session", "GPU 0 util 50%");
// empty when nothing does. A GPU without a reading holds as idle, as no GPU does.
std::vector<std::string> activity_in(const Observation& observation, const IdleSettings& idle);

struct StopRules {
  std::optional<IdleSettings> idle;
  std::optional<std::chrono::seconds> max_age;
  bool jupyter = false; // which services' users count
  bool ssh = false;
};

struct Verdict {
  enum class Action { keep, notify, withdraw, stop };
  Action action = Action::keep;
  std::string reason;           // notify, stop: launcher::contract's words, "idle 2h (...)" or "max_age 72h"
  int exit_status = 0;          // stop: launcher::contract::stop_status
  std::chrono::seconds left{0}; // notify: time until the stop
};

// How long before a stop its notice comes: a quarter of the window, at most five minutes.
std::chrono::seconds notice_lead(std::chrono::seconds window);

// Decides from observations, one at a time, whether the env stops: after `max_age` since
// `started`, or once nothing was in use for idle.stop_after (from the last use it saw, or from
// Jupyter's last activity when that is later). A notice comes notice_lead before either; use
// seen after an idle notice withdraws it.
class StopWatch {
public:
  StopWatch(StopRules rules, WallClock::time_point started);

  Verdict observe(const Observation& observation);

  // How often to look: a tenth of the shorter window, from 1 s to 30 s.
  std::chrono::milliseconds period() const;

private:
  StopRules rules_;
  WallClock::time_point started_;
  WallClock::time_point idle_since_;
  bool idle_notified_ = false;
  bool max_age_notified_ = false;
};

// --- What Jupyter Server and nvidia-smi answer --------------------------------------------------

// "2026-12-06T21:50:23.123456Z" or "...+00:00" (UTC, as Jupyter writes it); nullopt otherwise.
std::optional<WallClock::time_point> parse_utc_time(std::string_view text);

// /api/status: its "last_activity"; nullopt when missing or malformed.
std::optional<WallClock::time_point> last_activity_of_status(std::string_view body);

// /api/kernels: whether any kernel's "execution_state" is "busy" (or "starting").
bool any_kernel_busy(std::string_view body);

// `nvidia-smi --query-gpu=index,utilization.gpu --format=csv,noheader,nounits`: "0, 37" per line.
std::vector<GpuReading> parse_gpu_utilization(std::string_view csv);

} // namespace launcher_init
