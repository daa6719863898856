#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/app.hpp"
#include "core/error.hpp"

namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "launcher");
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  std::ostringstream out, err;
  int code = launcher::cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

} // namespace

TEST_CASE("an unknown command gets a suggestion and exit code 2", "[cli]") {
  Outcome outcome = run_cli({"rendr"});
  CHECK(outcome.code == 2);
  CHECK(outcome.err ==
        "launcher: error: unknown command \"rendr\" (did you mean \"render\"?); run 'launcher --help'\n");
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

TEST_CASE("every command that takes an environment calls it ENV in its usage line, as docs/commands.md does", "[cli]") {
  for (std::string command : {"down", "logs", "exec", "ssh", "ssh-config", "open", "snapshot", "doctor"}) {
    CAPTURE(command);
    Outcome help = run_cli({command, "--help"});
    CHECK(help.code == 0);
    std::string usage = help.out.substr(help.out.find("Usage:"));
    usage = usage.substr(0, usage.find('\n'));
    CHECK(usage.find("ENV") != std::string::npos);
  }
}

TEST_CASE("submit --help offers only what submit honours: no --gpus, no ports", "[cli][slurm]") {
  Outcome help = run_cli({"submit", "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--gpus-per-node") != std::string::npos);
  CHECK(help.out.find("--gpus ") == std::string::npos);
  CHECK(help.out.find("--port") == std::string::npos);
  CHECK(help.out.find("the job's name in Slurm is launcher-NAME") != std::string::npos);
  CHECK(help.out.find("--lossy") != std::string::npos);
  CHECK(help.out.find("who the job's containers run as") != std::string::npos);
}

TEST_CASE("every exception a command lets out ends as one line and an exit code", "[cli]") {
  auto report = [](const std::function<int()>& action) {
    std::ostringstream err;
    int code = launcher::cli::run_reporting_errors(action, err);
    return std::make_pair(code, err.str());
  };
  CHECK(report([] { return 0; }) == std::make_pair(0, std::string()));
  CHECK(report([]() -> int { throw launcher::Error(launcher::ExitCode::host_incapable, "no GPU"); }) ==
        std::make_pair(3, std::string("launcher: error: no GPU\n")));
  // A JSON library's exception escaping a parser is a bug, still reported as one line.
  auto [code, message] = report([]() -> int { return nlohmann::json::parse("{").size(); });
  CHECK(code == 1);
  CHECK(message.rfind("launcher: error: unexpected failure: [json.exception.parse_error.101]", 0) == 0);
  CHECK(message.find('\n') == message.size() - 1);
  CHECK(report([]() -> int { throw std::runtime_error("first\nsecond"); }) ==
        std::make_pair(1, std::string("launcher: error: unexpected failure: first\n")));
  CHECK(report([]() -> int { throw 42; }) ==
        std::make_pair(1, std::string("launcher: error: unexpected failure of an unknown kind\n")));
}
