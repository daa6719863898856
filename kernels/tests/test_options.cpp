#include "options.hpp"

#include <catch2/catch.hpp>

#include <string_view>
#include <vector>

using namespace gpu_probe;

namespace {
Options parse(std::vector<std::string_view> arguments) { return parse_options(arguments); }
} // namespace

TEST_CASE("options: defaults", "[options]") {
  const Options options = parse({});
  CHECK_FALSE(options.json);
  CHECK(options.device == 0);
  CHECK(options.timed_runs == 20);
  CHECK(options.only.empty());
}

TEST_CASE("options: every flag", "[options]") {
  const Options options = parse({"--json", "--device", "1", "--runs", "50", "--only", "gemm-bf16,,hbm-bandwidth"});
  CHECK(options.json);
  CHECK(options.device == 1);
  CHECK(options.timed_runs == 50);
  CHECK(options.only == std::vector<std::string>{"gemm-bf16", "hbm-bandwidth"});
}

TEST_CASE("options: errors name the culprit", "[options]") {
  CHECK_THROWS_WITH(parse({"--runs", "19"}), "--runs: expected an integer >= 20, found '19'");
  CHECK_THROWS_WITH(parse({"--device", "x"}), "--device: expected an integer >= 0, found 'x'");
  CHECK_THROWS_WITH(parse({"--device"}), "--device: missing value");
  CHECK_THROWS_WITH(parse({"--only", ","}), "--only: expected probe names separated by commas");
  CHECK_THROWS_WITH(parse({"--fast"}), "unknown option '--fast' (see --help)");
  CHECK_THROWS_AS(parse({"--runs", "20x"}), UsageError);
}
