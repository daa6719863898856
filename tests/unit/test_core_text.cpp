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

TEST_CASE("text from another program is printed with its control characters escaped", "[core][text]") {
  using launcher::escape_control_characters;
  using launcher::Newlines;
  CHECK(escape_control_characters("plain ascii, tabs\tand UTF-8: 日本 ü") == "plain ascii, tabs\\x09and UTF-8: 日本 ü");
  CHECK(escape_control_characters("\x1b[2Jgone\x07") == "\\x1b[2Jgone\\x07");
  CHECK(escape_control_characters(std::string("nul\0byte", 8)) == "nul\\x00byte");
  CHECK(escape_control_characters("del\x7f") == "del\\x7f");
  CHECK(escape_control_characters("csi\xc2\x9b"
                                  "31m") == "csi\\u009b31m");
  CHECK(escape_control_characters("bad \xff utf-8") == "bad \\xff utf-8");
  CHECK(escape_control_characters("a\nb\r\n") == "a\\x0ab\\x0d\\x0a");
  CHECK(escape_control_characters("a\nb\x1b\n", Newlines::keep) == "a\nb\\x1b\n");
  // Idempotent on its own output: nothing it writes is a control character.
  std::string once = escape_control_characters("\x01\x1f\x7f\xc2\x80\xc2\x9f");
  CHECK(escape_control_characters(once) == once);
}
