#include <catch2/catch.hpp>

#include "core/text.hpp"

using namespace launcher;

TEST_CASE("did_you_mean suggests a close candidate and nothing for a far one", "[core]") {
  std::vector<std::string> keys{"ports", "volumes", "env"};
  CHECK(did_you_mean("prots", keys) == " (did you mean \"ports\"?)");
  CHECK(did_you_mean("volume", keys) == " (did you mean \"volumes\"?)");
  CHECK(did_you_mean("zzzzzz", keys).empty());
}

TEST_CASE("split keeps empty fields", "[core]") {
  CHECK(split("0,,1", ',') == std::vector<std::string>{"0", "", "1"});
  CHECK(split("", ',') == std::vector<std::string>{""});
}

TEST_CASE("quote_for_message quotes as JSON and cuts long values", "[core]") {
  CHECK(quote_for_message("a\nb") == "\"a\\nb\"");
  CHECK(quote_for_message(std::string(200, 'x')).size() == 80);
}
