#include <catch2/catch.hpp>

#include "launcher_contract/stop_reason.hpp"
#include "stop_watch.hpp"

using namespace launcher_init;
using std::chrono::seconds;

namespace {

const WallClock::time_point start = WallClock::from_time_t(1'800'000'000);

Observation quiet_at(seconds after) {
  Observation observation;
  observation.at = start + after;
  return observation;
}

StopRules idle_jupyter(seconds stop_after, int below = 5) {
  return {IdleSettings{stop_after, below}, std::nullopt, true, false};
}

} // namespace

TEST_CASE("stop reason: durations are written as profiles write them") {
  using launcher::contract::format_duration;
  CHECK(format_duration(seconds(7200)) == "2h");
  CHECK(format_duration(seconds(20)) == "20s");
  CHECK(format_duration(seconds(5400)) == "1h30m");
  CHECK(format_duration(seconds(3 * 86400 + 61)) == "3d1m1s");
  CHECK(format_duration(seconds(0)) == "0s");
}

TEST_CASE("stop reason: the idle stop names every condition it waited for") {
  using launcher::contract::describe_idle_stop;
  CHECK(describe_idle_stop({seconds(7200), 5, true, true, "0"}) ==
        "idle 2h (no kernel busy, no ssh session, GPU 0 util < 5%)");
  CHECK(describe_idle_stop({seconds(20), 10, false, true, "0,1"}) == "idle 20s (no ssh session, GPUs 0,1 util < 10%)");
  CHECK(describe_idle_stop({seconds(60), 5, true, false, "all"}) == "idle 1m (no kernel busy, every GPU util < 5%)");
  CHECK(describe_idle_stop({seconds(60), 5, false, false, "none"}) == "idle 1m");
  CHECK(launcher::contract::describe_max_age_stop(seconds(72 * 3600)) == "max_age 3d");
}

TEST_CASE("stop watch: an env nobody uses stops after the window, with a notice a quarter before") {
  StopWatch watch(idle_jupyter(seconds(20)), start);
  CHECK(watch.observe(quiet_at(seconds(10))).action == Verdict::Action::keep);
  auto notice = watch.observe(quiet_at(seconds(15)));
  CHECK(notice.action == Verdict::Action::notify);
  CHECK(notice.left == seconds(5));
  CHECK(notice.reason == "idle 20s (no kernel busy)");
  CHECK(watch.observe(quiet_at(seconds(17))).action == Verdict::Action::keep); // one notice only
  auto stop = watch.observe(quiet_at(seconds(20)));
  CHECK(stop.action == Verdict::Action::stop);
  CHECK(stop.exit_status == launcher::contract::stop_status::idle);
  CHECK(stop.reason == "idle 20s (no kernel busy)");
}

TEST_CASE("stop watch: each kind of use restarts the window and withdraws a notice") {
  auto used = GENERATE(as<std::string>{}, "kernel", "ssh", "gpu", "unanswered", "client");
  StopWatch watch({IdleSettings{seconds(20), 5}, std::nullopt, true, true}, start);
  REQUIRE(watch.observe(quiet_at(seconds(16))).action == Verdict::Action::notify);
  auto busy = quiet_at(seconds(18));
  if (used == "kernel") busy.kernel_busy = true;
  if (used == "ssh") busy.ssh_sessions = 1;
  if (used == "gpu") busy.gpus = {{"0", 3}, {"1", 5}};
  if (used == "unanswered") busy.jupyter_unanswered = true;
  if (used == "client") busy.jupyter_last_activity = start + seconds(17);
  INFO(used);
  CHECK(watch.observe(busy).action == Verdict::Action::withdraw);
  seconds since = used == "client" ? seconds(17) : seconds(18);
  CHECK(watch.observe(quiet_at(since + seconds(19))).action == Verdict::Action::notify);
  CHECK(watch.observe(quiet_at(since + seconds(20))).action == Verdict::Action::stop);
}

TEST_CASE("stop watch: a GPU below the threshold, without a reading, or absent holds as idle") {
  IdleSettings idle{seconds(20), 5};
  auto observation = quiet_at(seconds(1));
  observation.gpus = {{"0", 4}, {"1", std::nullopt}};
  CHECK(activity_in(observation, idle).empty());
  observation.gpus.push_back({"2", 5});
  CHECK(activity_in(observation, idle) == std::vector<std::string>{"GPU 2 util 5%"});
  observation.ssh_sessions = 2;
  observation.kernel_busy = true;
  CHECK(activity_in(observation, idle) == std::vector<std::string>{"kernel busy", "2 ssh sessions", "GPU 2 util 5%"});

  StopWatch watch({idle, std::nullopt, false, true}, start);
  auto last = quiet_at(seconds(20));
  last.gpus = {{"0", 4}};
  CHECK(watch.observe(last).reason == "idle 20s (no ssh session, GPU 0 util < 5%)");
}

TEST_CASE("stop watch: Jupyter's last activity counts, never later than now") {
  StopWatch watch(idle_jupyter(seconds(20)), start);
  auto observation = quiet_at(seconds(10));
  observation.jupyter_last_activity = start + seconds(500); // a clock ahead counts as now
  CHECK(watch.observe(observation).action == Verdict::Action::keep);
  CHECK(watch.observe(quiet_at(seconds(24))).action == Verdict::Action::keep);
  CHECK(watch.observe(quiet_at(seconds(30))).action == Verdict::Action::stop);
}

TEST_CASE("stop watch: max_age stops however busy the env is, with a notice") {
  StopWatch watch({IdleSettings{seconds(60), 5}, seconds(40), false, true}, start);
  auto busy = [](seconds after) {
    auto observation = quiet_at(after);
    observation.ssh_sessions = 1;
    return observation;
  };
  CHECK(watch.observe(busy(seconds(29))).action == Verdict::Action::keep);
  auto notice = watch.observe(busy(seconds(30)));
  CHECK(notice.action == Verdict::Action::notify);
  CHECK(notice.reason == "max_age 40s");
  CHECK(notice.left == seconds(10));
  auto stop = watch.observe(busy(seconds(40)));
  CHECK(stop.action == Verdict::Action::stop);
  CHECK(stop.exit_status == launcher::contract::stop_status::max_age);
  CHECK(stop.reason == "max_age 40s");
}

TEST_CASE("stop watch: notices come at most five minutes ahead, looks every tenth of the window") {
  CHECK(notice_lead(seconds(7200)) == seconds(300));
  CHECK(notice_lead(seconds(20)) == seconds(5));
  CHECK(StopWatch(idle_jupyter(seconds(20)), start).period() == seconds(2));
  CHECK(StopWatch(idle_jupyter(seconds(5)), start).period() == seconds(1));
  CHECK(StopWatch(idle_jupyter(seconds(7200)), start).period() == seconds(30));
  CHECK(StopWatch({IdleSettings{seconds(7200), 5}, seconds(100), true, false}, start).period() == seconds(10));
}

TEST_CASE("stop watch: Jupyter's timestamps and states are read as it writes them") {
  auto time = parse_utc_time("2026-12-06T21:50:23.123456Z");
  REQUIRE(time);
  CHECK(WallClock::to_time_t(*time) == 1796593823);
  CHECK(parse_utc_time("2026-12-06T21:50:23+00:00") == WallClock::from_time_t(1796593823));
  CHECK(parse_utc_time("2026-12-06T21:50:23.5Z") ==
        WallClock::from_time_t(1796593823) + std::chrono::milliseconds(500));
  CHECK_FALSE(parse_utc_time("2026-12-06T21:50:23"));   // no zone: not Jupyter's
  CHECK_FALSE(parse_utc_time("2026-13-06T21:50:23Z"));  // month 13
  CHECK_FALSE(parse_utc_time("2026-12-06T21:50:23.Z")); // empty fraction
  CHECK_FALSE(parse_utc_time("yesterday Z"));
  CHECK_FALSE(parse_utc_time(""));

  // Recorded from Jupyter Server 1.23 in the CPU image.
  CHECK(last_activity_of_status(R"({"connections": 0, "kernels": 1, "last_activity": "2026-12-06T21:50:23.123456Z", )"
                                R"("started": "2026-12-06T21:40:00.000000Z"})") == time);
  CHECK_FALSE(last_activity_of_status(R"({"last_activity": null})"));
  CHECK_FALSE(last_activity_of_status("not json"));
  CHECK(any_kernel_busy(R"([{"id": "a", "execution_state": "idle"}, {"id": "b", "execution_state": "busy"}])"));
  CHECK_FALSE(any_kernel_busy(R"([{"id": "a", "execution_state": "idle"}])"));
  CHECK_FALSE(any_kernel_busy("[]"));
  CHECK(any_kernel_busy(R"([{"execution_state":"starting"}])"));
  CHECK_FALSE(any_kernel_busy(R"([{"execution_state": "bu\"sy"}])"));
}

TEST_CASE("stop watch: nvidia-smi's utilisation per GPU, N/A as no reading") {
  auto gpus = parse_gpu_utilization("0, 37\n1, [N/A]\n2, 100\r\n\n3\n4, 101\n");
  REQUIRE(gpus.size() == 5);
  CHECK(gpus[0].index == "0");
  CHECK(gpus[0].utilization == 37);
  CHECK_FALSE(gpus[1].utilization);
  CHECK(gpus[2].utilization == 100);
  CHECK_FALSE(gpus[3].utilization);
  CHECK_FALSE(gpus[4].utilization);
  CHECK(parse_gpu_utilization("").empty());
}
