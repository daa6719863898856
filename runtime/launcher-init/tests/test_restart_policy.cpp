#include <catch2/catch.hpp>

#include "restart_policy.hpp"

using namespace launcher_init;
using std::chrono::milliseconds;

TEST_CASE("restart backoff: doubles up to the maximum, then gives up") {
  RestartPolicy policy;
  policy.first_delay = milliseconds(1000);
  policy.max_delay = milliseconds(5000);
  policy.max_quick_failures = 5;
  RestartBackoff backoff(policy);
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(1000));
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(2000));
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(4000));
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(5000));
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(5000));
  CHECK(backoff.quick_failures() == 5);
  CHECK_FALSE(backoff.after_exit(milliseconds(10)));
}

TEST_CASE("restart backoff: a stable run forgets earlier failures") {
  RestartBackoff backoff;
  backoff.after_exit(milliseconds(10));
  backoff.after_exit(milliseconds(10));
  CHECK(backoff.after_exit(milliseconds(10)) == milliseconds(4000));
  CHECK(backoff.after_exit(milliseconds(60000)) == milliseconds(1000));
  CHECK(backoff.quick_failures() == 1);
}
