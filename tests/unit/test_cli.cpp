#include <catch2/catch.hpp>

#include <sstream>

#include "cli/app.hpp"

namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "launcher");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  std::ostringstream out, err;
  int code = launcher::cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

} // namespace

TEST_CASE("an unknown command gets a suggestion and exit code 2", "[cli]") {
  Outcome outcome = run_cli({"rendr"});
  CHECK(outcome.code == 2);
  CHECK(outcome.err == "launcher: error: unknown command \"rendr\" (did you mean \"render\"?); run 'launcher --help'\n");
}

TEST_CASE("a missing command is a usage error", "[cli]") {
  Outcome outcome = run_cli({});
  CHECK(outcome.code == 2);
  CHECK(outcome.err.find("launcher: error: A subcommand is required") == 0);
}

TEST_CASE("an unknown flag is a usage error", "[cli]") {
  Outcome outcome = run_cli({"render", "--gpu", "all"});
  CHECK(outcome.code == 2);
  CHECK(outcome.err.find("launcher: error: ") == 0);
  CHECK(outcome.err.find("--gpu") != std::string::npos);
}

TEST_CASE("the version and help flags exit 0", "[cli]") {
  CHECK(run_cli({"--version"}).out == "0.1.0\n");
  Outcome help = run_cli({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("render") != std::string::npos);
  CHECK(help.out.find("profiles") != std::string::npos);
}
