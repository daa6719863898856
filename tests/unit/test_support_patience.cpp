// The tests' one wait (tests/support/patience.hpp): it returns as soon as the condition holds, gives
// up after its bound, and never waits less than the bound an idle machine gets.
#include <catch2/catch.hpp>

#include <chrono>

#include "patience.hpp"

using namespace std::chrono_literals;
using launcher::testing::load_factor;
using launcher::testing::patient;
using launcher::testing::wait_until;

TEST_CASE("patience: the load factor is between 1 and 8, and a bound is never shortened", "[support]") {
  double factor = load_factor();
  CHECK(factor >= 1.0);
  CHECK(factor <= 8.0);
  CHECK(patient(10s) >= 10s);
  CHECK(patient(10s) <= 80s);
}

TEST_CASE("patience: wait_until returns once the condition holds and asks it again until then", "[support]") {
  int asked = 0;
  auto start = std::chrono::steady_clock::now();
  CHECK(wait_until([&] { return ++asked == 3; }, 60s, 1ms));
  CHECK(asked == 3);
  CHECK(std::chrono::steady_clock::now() - start < 30s);
}

TEST_CASE("patience: wait_until gives up after its bound and says so", "[support]") {
  int asked = 0;
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(wait_until([&] { return ++asked < 0; }, 50ms, 10ms));
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= 50ms);
  CHECK(asked >= 2); // asked again after each pause, and once more when the bound has passed
}
