#include <catch2/catch.hpp>

#include "core/bytes.hpp"

using namespace launcher;

TEST_CASE("parse_byte_size reads Docker's size syntax", "[core]") {
  CHECK(parse_byte_size("16g") == (16ULL << 30));
  CHECK(parse_byte_size("16GB") == (16ULL << 30));
  CHECK(parse_byte_size("16GiB") == (16ULL << 30));
  CHECK(parse_byte_size("512m") == (512ULL << 20));
  CHECK(parse_byte_size("1.5g") == (3ULL << 29));
  CHECK(parse_byte_size("1000") == 1000U);
  CHECK(parse_byte_size("64k") == 65536U);
}

TEST_CASE("parse_byte_size refuses what Docker refuses", "[core]") {
  CHECK_FALSE(parse_byte_size(""));
  CHECK_FALSE(parse_byte_size("g"));
  CHECK_FALSE(parse_byte_size("16x"));
  CHECK_FALSE(parse_byte_size("-1g"));
  CHECK_FALSE(parse_byte_size("99999999999t"));
}

TEST_CASE("format_docker_size is exact and round-trips", "[core]") {
  CHECK(format_docker_size(32ULL << 30) == "32g");
  CHECK(format_docker_size(1536ULL << 20) == "1536m");
  CHECK(format_docker_size(1000) == "1000");
  for (std::uint64_t bytes : {1ULL << 30, 12345ULL, 3ULL << 20, 5ULL << 40})
    CHECK(parse_byte_size(format_docker_size(bytes)) == bytes);
}
