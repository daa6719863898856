// Issue 24: what the parser of profile files says about text that is not one plain JSON value.
#include <catch2/catch.hpp>

#include "profile/json_text.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::require_error;
using launcher::testing::team_source;

TEST_CASE("a key given twice is an error naming the key and both lines", "[profile][json]") {
  // A second "profiles" would otherwise drop every profile of the first.
  require_error([] { team_source("{\"version\": 1,\n \"profiles\": {\"a1\": {}},\n \"profiles\": {\"b1\": {}}}"); },
                ExitCode::usage,
                "launcher.json:3:2: duplicate key \"profiles\" at the top level (first at line 2, again at line 3); "
                "JSON keeps only one of them, so write it once");
  require_error(
      [] {
        team_source("{\"version\": 1, \"profiles\": {\n  \"dev\": {\n    \"env\": {\"A\": \"1\",\n"
                    "            \"A\": \"2\"}}}}");
      },
      ExitCode::usage,
      "launcher.json:4:13: duplicate key \"A\" in /profiles/dev/env (first at line 3, again at line 4); JSON keeps "
      "only one of them, so write it once");
}

TEST_CASE("duplicate keys are compared by what they mean, per object", "[profile][json]") {
  // "\u0069mage" is "image".
  require_error([] { team_source(R"({"version": 1, "profiles": {"dev": {"image": "a", "\u0069mage": "b"}}})"); },
                ExitCode::usage,
                "launcher.json:1:51: duplicate key \"image\" in /profiles/dev (first at line 1, again at line 1); JSON "
                "keeps only one of them, so write it once");
  // The same key in two objects, or as a value, is fine.
  CHECK(
      team_source(R"({"version": 1, "profiles": {"a1": {"image": "x"}, "b1": {"image": "image"}}})").profiles.size() ==
      2);
  // Inside a list, the place is the item's.
  require_error(
      [] {
        team_source(
            R"({"version": 1, "profiles": {"dev": {"ports": [{"container": 1}, {"container": 2, "container": 3}]}}})");
      },
      ExitCode::usage,
      "launcher.json:1:82: duplicate key \"container\" in /profiles/dev/ports/1 (first at line 1, again at line 1); "
      "JSON keeps only one of them, so write it once");
  // Keys that look like brackets or quotes inside strings do not confuse the count.
  CHECK(
      team_source(R"({"version": 1, "profiles": {"dev": {"env": {"A": "[{\"A\": 1,", "B": "}]"}}}})").profiles.size() ==
      1);
}

TEST_CASE("a NUL byte is named at its line and column", "[profile][json]") {
  using namespace std::string_literals;
  require_error([] { team_source("{\"version\": 1,\n \"pro\0files\": {}}"s); }, ExitCode::usage,
                "launcher.json: NUL byte at line 2 column 6 (a profile file is UTF-8 text)");
  require_error([] { team_source("{\"version\": 1, \"profiles\": {}}\0\0\0"s); }, ExitCode::usage,
                "launcher.json: NUL byte at line 1 column 31 (a profile file is UTF-8 text)");
}

TEST_CASE("nesting beyond the limit is refused at its place, before the parser runs", "[profile][json][limits]") {
  std::string deep = "{\n\"version\": 1, \"profiles\": " + std::string(100000, '[');
  require_error([&] { team_source(deep); }, ExitCode::usage, "launcher.json:2:90: JSON nested deeper than 64 levels");
  // Brackets in strings are text.
  CHECK(team_source(R"({"version": 1, "profiles": {"dev": {"description": ")" + std::string(1000, '[') + "\"}}}")
            .profiles.size() == 1);
}

TEST_CASE("the parser's own exception names never reach a message", "[profile][json]") {
  for (const char* text :
       {"{", "{\"version\": 1,}", "[1, 2", "{\"a\": tru}", "\"\\u12\"", "1e999", "{\"a\":\"\xff\"}"}) {
    try {
      profile::parse_json_text(text, "launcher.json");
      FAIL("accepted " << text);
    } catch (const Error& error) {
      CAPTURE(text);
      CHECK(std::string(error.what()).find("json.exception") == std::string::npos);
      CHECK(std::string(error.what()).rfind("launcher.json:1:", 0) == 0);
    }
  }
}
