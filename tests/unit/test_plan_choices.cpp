#include <catch2/catch.hpp>

#include "plan/choices.hpp"
#include "plan/plan.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::require_error;
using plan::Restart;

namespace {

const std::string source = "launcher.json:/profiles/dev/x";

} // namespace

TEST_CASE("a service is named as the profile and LAUNCHER_SERVICE spell it, and read back", "[plan][choices]") {
  for (auto [service, spelling] : {std::pair{plan::Service::jupyter, "jupyter"},
                                   {plan::Service::ssh, "ssh"},
                                   {plan::Service::shell, "shell"},
                                   {plan::Service::command, "command"}}) {
    CHECK(plan::name(service) == spelling);
    CHECK(plan::parse_service(spelling, source) == service);
  }
  CHECK_FALSE(contract::service_named("Jupyter"));
  require_error([] { plan::parse_service("Jupyter", source); }, ExitCode::usage,
                source + ": unknown service \"Jupyter\"; expected \"jupyter\", \"ssh\", \"shell\" or \"command\"");
}

TEST_CASE("a protocol is tcp or udp", "[plan][choices]") {
  CHECK(plan::name(plan::Protocol::tcp) == "tcp");
  CHECK(plan::name(plan::Protocol::udp) == "udp");
  CHECK(plan::parse_protocol("tcp", source) == plan::Protocol::tcp);
  CHECK(plan::parse_protocol("udp", source) == plan::Protocol::udp);
  require_error([] { plan::parse_protocol("sctp", source); }, ExitCode::usage,
                source + ": unknown protocol \"sctp\"; expected \"tcp\" or \"udp\"");
  // The lookup that asks without failing: an engine's port of another protocol is no endpoint.
  CHECK(plan::protocol_named("udp") == plan::Protocol::udp);
  CHECK_FALSE(plan::protocol_named("sctp"));
}

TEST_CASE("an IPC mode is private, shareable or host, and none set is the engine's default", "[plan][choices]") {
  for (auto [ipc, spelling] : {std::pair{plan::Ipc::engine_default, ""},
                               {plan::Ipc::private_, "private"},
                               {plan::Ipc::shareable, "shareable"},
                               {plan::Ipc::host, "host"}}) {
    CHECK(plan::name(ipc) == spelling);
    CHECK(plan::parse_ipc(spelling, source) == ipc);
  }
  require_error([] { plan::parse_ipc("none", source); }, ExitCode::usage,
                source + ": unknown IPC mode \"none\"; expected \"private\", \"shareable\" or \"host\"");
}

TEST_CASE("a restart policy reads back to the very text, on-failure with or without a count", "[plan][choices]") {
  using Policy = Restart::Policy;
  for (auto [restart, spelling] : {std::pair{Restart{Policy::no, std::nullopt}, "no"},
                                   {Restart{Policy::always, std::nullopt}, "always"},
                                   {Restart{Policy::unless_stopped, std::nullopt}, "unless-stopped"},
                                   {Restart{Policy::on_failure, std::nullopt}, "on-failure"},
                                   {Restart{Policy::on_failure, 3}, "on-failure:3"},
                                   {Restart{Policy::on_failure, 999999}, "on-failure:999999"}}) {
    CHECK(plan::name(restart) == spelling);
    CHECK(plan::parse_restart(spelling, source) == restart);
  }
  const std::string expected =
      "; expected \"no\", \"always\", \"unless-stopped\", \"on-failure\" or \"on-failure:N\" (N at least 1)";
  // A count name() would spell otherwise is refused: the plan hash is taken of the spelling.
  for (std::string wrong : {"On-failure", "on-failure:", "on-failure:0", "on-failure:03", "on-failure:-1",
                            "on-failure:+1", "on-failure:1x", "on-failure:99999999999"})
    require_error([&] { plan::parse_restart(wrong, source); }, ExitCode::usage,
                  source + ": unknown restart policy \"" + wrong + "\"" + expected);
}

TEST_CASE("Jupyter authenticates by token or password", "[plan][choices]") {
  CHECK(plan::name(plan::JupyterAuth::token) == "token");
  CHECK(plan::name(plan::JupyterAuth::password) == "password");
  CHECK(plan::parse_jupyter_auth("token", source) == plan::JupyterAuth::token);
  CHECK(plan::parse_jupyter_auth("password", source) == plan::JupyterAuth::password);
  require_error([] { plan::parse_jupyter_auth("none", source); }, ExitCode::usage,
                source + ": unknown Jupyter authentication \"none\"; expected \"token\" or \"password\"");
}

// Running envs are found by the hash of this JSON: the choices keep the spelling they had as strings.
TEST_CASE("the plan JSON spells each choice as the profile does", "[plan][choices][hash]") {
  plan::Plan shell = testing::builtin_plan("shell", 0);
  nlohmann::json written = plan::to_json(shell);
  CHECK(written["service"] == "shell");
  CHECK(written["ipc"] == "");
  CHECK(written["restart"] == "no");
  CHECK(written["access"]["jupyter_auth"] == ""); // no secrets directory at all

  plan::Plan jupyter = testing::builtin_plan("jupyter", 0);
  jupyter.ports.push_back({"127.0.0.1", 5353, 53, plan::Protocol::udp});
  jupyter.ipc = plan::Ipc::host;
  jupyter.restart = {Restart::Policy::on_failure, 3};
  jupyter.access.jupyter_auth = plan::JupyterAuth::password;
  written = plan::to_json(jupyter);
  CHECK(written["service"] == "jupyter");
  CHECK(written["ports"][0]["protocol"] == "tcp");
  CHECK(written["ports"].back()["protocol"] == "udp");
  CHECK(written["ipc"] == "host");
  CHECK(written["restart"] == "on-failure:3");
  CHECK(written["access"]["jupyter_auth"] == "password");
}
