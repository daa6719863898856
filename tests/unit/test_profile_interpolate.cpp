#include <catch2/catch.hpp>

#include "profile/interpolate.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::require_error;

namespace {
const profile::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
  if (name == "DATA") return "/srv/data";
  if (name == "EMPTY") return "";
  return std::nullopt;
};
}

TEST_CASE("interpolate expands set variables and defaults", "[profile][interpolate]") {
  CHECK(profile::interpolate("${DATA}/train", env) == "/srv/data/train");
  CHECK(profile::interpolate("${MISSING:-/tmp}", env) == "/tmp");
  CHECK(profile::interpolate("${EMPTY:-fallback}", env) == "fallback");
  CHECK(profile::interpolate("${EMPTY}", env).empty());
  CHECK(profile::interpolate("cost $5 and $$HOME", env) == "cost $5 and $HOME");
  CHECK(profile::interpolate("no variables", env) == "no variables");
}

TEST_CASE("interpolate names the unset variable", "[profile][interpolate]") {
  require_error([] { profile::interpolate("${MISSING}/x", env); }, ExitCode::usage,
                "variable MISSING is not set (set it, or write ${MISSING:-value} to give a default)");
}

TEST_CASE("interpolate refuses malformed references", "[profile][interpolate]") {
  require_error([] { profile::interpolate("${DATA", env); }, ExitCode::usage, "unterminated \"${\" in \"${DATA\"");
  require_error([] { profile::interpolate("${1X}", env); }, ExitCode::usage,
                "bad variable name \"1X\" in \"${1X}\" (expected ${NAME} or ${NAME:-default})");
}
