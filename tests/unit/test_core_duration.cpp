#include <catch2/catch.hpp>

#include "core/duration.hpp"
#include "launcher_contract/stop_reason.hpp"

using launcher::parse_duration;
using std::chrono::seconds;

TEST_CASE("duration: units d h m s, largest first, each once", "[core][duration]") {
  CHECK(parse_duration("2h") == seconds(7200));
  CHECK(parse_duration("20s") == seconds(20));
  CHECK(parse_duration("90m") == seconds(5400));
  CHECK(parse_duration("1h30m") == seconds(5400));
  CHECK(parse_duration("3d") == seconds(259200));
  CHECK(parse_duration("1d2h3m4s") == seconds(93784));
  CHECK(parse_duration("3660d") == seconds(3660LL * 86400));
}

TEST_CASE("duration: anything else is refused", "[core][duration]") {
  for (const char* text : {"", "2", "h", "2x", "2H", "1.5h", "-1h", "+1h", "1h 30m", "30m1h", "1h1h", "0s", "0h0m",
                           "3661d", "9999999999s", "1h30"}) {
    INFO(text);
    CHECK_FALSE(parse_duration(text));
  }
}

TEST_CASE("duration: what parses is written back the same way", "[core][duration]") {
  for (const char* text : {"2h", "20s", "1h30m", "3d", "1d2h3m4s"}) {
    INFO(text);
    CHECK(launcher::contract::format_duration(*parse_duration(text)) == text);
  }
  CHECK(launcher::contract::format_duration(*parse_duration("90m")) == "1h30m");
}
