#include <catch2/catch.hpp>

#include "error.hpp"
#include "settings.hpp"

using namespace launcher_init;

namespace {

Environment minimal(std::string service = "ssh") {
  return {
      {"LAUNCHER_SERVICE", service}, {"LAUNCHER_UID", "1000"}, {"LAUNCHER_GID", "1000"}, {"LAUNCHER_USER", "alice"}};
}

std::string error_of(const Environment& environment) {
  try {
    parse_settings(environment);
  } catch (const Error& error) {
    CHECK(error.exit_status() == exit_bad_usage);
    return error.what();
  }
  return "";
}

Invocation arguments(std::initializer_list<std::string_view> list) {
  std::vector<std::string_view> vector(list);
  return parse_arguments(vector);
}

} // namespace

TEST_CASE("settings: defaults fill what the launcher leaves out") {
  auto settings = parse_settings(minimal());
  CHECK(settings.services == std::vector{Service::ssh});
  CHECK(settings.uid == 1000);
  CHECK(settings.user == "alice");
  CHECK_FALSE(settings.sudo);
  CHECK(settings.secrets_dir == "/run/launcher/root-only/secrets");
  CHECK_FALSE(settings.ssh_forwarding.agent);
  CHECK_FALSE(settings.ssh_forwarding.stream_local);
  CHECK_FALSE(settings.ssh_forwarding.user_rc);
  CHECK(settings.root.empty());
  CHECK_FALSE(settings.listen_address);
  CHECK(settings.jupyter_port == 8888);
  CHECK(settings.ssh_port == 22);
  CHECK(settings.stop_timeout == std::chrono::seconds(8));
  CHECK(settings.under_root("/etc/passwd") == "/etc/passwd");
}

TEST_CASE("settings: overrides for tests and profiles") {
  auto environment = minimal("jupyter,ssh");
  environment["LAUNCHER_ROOT"] = "/tmp/root/";
  environment["LAUNCHER_SECRETS_DIR"] = "/tmp/secrets";
  environment["LAUNCHER_SUDO"] = "1";
  environment["LAUNCHER_WORKDIR"] = "/workspace";
  environment["LAUNCHER_LISTEN_ADDRESS"] = "127.0.0.1";
  environment["LAUNCHER_SSH_PORT"] = "40022";
  environment["LAUNCHER_JUPYTER_PORT"] = "40888";
  environment["LAUNCHER_STOP_TIMEOUT"] = "3";
  environment["LAUNCHER_SSH_AGENT_FORWARDING"] = "1";
  environment["LAUNCHER_SSH_STREAM_LOCAL_FORWARDING"] = "1";
  environment["LAUNCHER_SSH_USER_RC"] = "0";
  auto settings = parse_settings(environment);
  CHECK(settings.services == std::vector{Service::jupyter, Service::ssh});
  CHECK(settings.under_root("/etc/passwd") == "/tmp/root/etc/passwd");
  CHECK(settings.secrets_dir == "/tmp/secrets");
  CHECK(settings.sudo);
  CHECK(settings.workdir == "/workspace");
  CHECK(settings.listen_address == "127.0.0.1");
  CHECK(settings.ssh_port == 40022);
  CHECK(settings.jupyter_port == 40888);
  CHECK(settings.stop_timeout == std::chrono::seconds(3));
  CHECK(settings.ssh_forwarding.agent);
  CHECK(settings.ssh_forwarding.stream_local);
  CHECK_FALSE(settings.ssh_forwarding.user_rc);
}

TEST_CASE("settings: each bad value names the variable and what was expected") {
  auto without_service = minimal();
  without_service.erase("LAUNCHER_SERVICE");
  CHECK(error_of(without_service) == "failed to read setting: LAUNCHER_SERVICE: not set");
  CHECK(error_of(minimal("web")) ==
        "failed to read setting: LAUNCHER_SERVICE: expected jupyter, ssh, shell or command, found 'web'");
  CHECK_THAT(error_of(minimal("shell,ssh")), Catch::Contains("cannot be combined"));

  auto environment = minimal();
  environment["LAUNCHER_UID"] = "12ab";
  CHECK_THAT(error_of(environment), Catch::StartsWith("failed to read setting: LAUNCHER_UID: expected a number"));
  environment = minimal();
  environment["LAUNCHER_UID"] = "4294967295"; // (uid_t)-1 means "unchanged" to setuid
  CHECK_THAT(error_of(environment), Catch::Contains("LAUNCHER_UID"));
  environment = minimal();
  environment["LAUNCHER_USER"] = "Bob:x";
  CHECK_THAT(error_of(environment), Catch::Contains("expected a lower-case user name, found 'Bob:x'"));
  environment = minimal();
  environment["LAUNCHER_UID"] = "0";
  CHECK_THAT(error_of(environment), Catch::Contains("uid 0 is root"));
  environment = minimal();
  environment["LAUNCHER_SUDO"] = "yes";
  CHECK(error_of(environment) == "failed to read setting: LAUNCHER_SUDO: expected 0 or 1, found 'yes'");
  for (const char* name :
       {"LAUNCHER_SSH_AGENT_FORWARDING", "LAUNCHER_SSH_STREAM_LOCAL_FORWARDING", "LAUNCHER_SSH_USER_RC"}) {
    environment = minimal();
    environment[name] = "true";
    CHECK(error_of(environment) == "failed to read setting: " + std::string(name) + ": expected 0 or 1, found 'true'");
  }
  environment = minimal();
  environment["LAUNCHER_SECRETS_DIR"] = "/secrets"; // its parent, /, would become root-only
  CHECK_THAT(error_of(environment),
             Catch::Contains("LAUNCHER_SECRETS_DIR: expected a directory below a directory of its own"));
  environment = minimal();
  environment["LAUNCHER_ROOT"] = "relative";
  CHECK_THAT(error_of(environment), Catch::Contains("expected an absolute path"));
  environment = minimal();
  environment["LAUNCHER_SSH_PORT"] = "0";
  CHECK_THAT(error_of(environment), Catch::Contains("from 1 to 65535"));
  environment = minimal();
  environment["LAUNCHER_LISTEN_ADDRESS"] = "localhost";
  CHECK_THAT(error_of(environment), Catch::Contains("expected an IP address"));
}

TEST_CASE("settings: root runs as root") {
  auto environment = minimal();
  environment["LAUNCHER_UID"] = "0";
  environment["LAUNCHER_GID"] = "0";
  environment["LAUNCHER_USER"] = "root";
  CHECK(parse_settings(environment).runs_as_root());
}

TEST_CASE("arguments: health, a command, and -- for a command named health") {
  CHECK(arguments({"health"}).mode == Invocation::Mode::health);
  CHECK_THROWS_AS(arguments({"health", "x"}), Error);
  auto command = arguments({"python3", "train.py"});
  CHECK(command.mode == Invocation::Mode::run);
  CHECK(command.command == std::vector<std::string>{"python3", "train.py"});
  CHECK(arguments({"--", "health"}).command == std::vector<std::string>{"health"});
  CHECK(arguments({}).command.empty());
}

TEST_CASE("arguments: only the command service takes them") {
  auto command_settings = parse_settings(minimal("command"));
  CHECK_THROWS_WITH(check_invocation(command_settings, arguments({})), Catch::Contains("needs the program"));
  CHECK_NOTHROW(check_invocation(command_settings, arguments({"true"})));
  CHECK_THROWS_WITH(check_invocation(parse_settings(minimal("ssh")), arguments({"bash"})),
                    Catch::Contains("only accepted with LAUNCHER_SERVICE=command"));
}

TEST_CASE("environment: parsed from envp, values may contain '='") {
  const char* envp[] = {"A=1", "B=x=y", "BROKEN", nullptr};
  auto environment = parse_environment(envp);
  CHECK(environment.size() == 2);
  CHECK(environment["B"] == "x=y");
}

TEST_CASE("settings: idle and max_age come in seconds, the GPU threshold in percent") {
  auto settings = parse_settings(minimal());
  CHECK_FALSE(settings.idle);
  CHECK_FALSE(settings.max_age);
  auto environment = minimal("jupyter");
  environment["LAUNCHER_IDLE_STOP_AFTER"] = "7200";
  environment["LAUNCHER_MAX_AGE"] = "259200";
  settings = parse_settings(environment);
  REQUIRE(settings.idle);
  CHECK(settings.idle->stop_after == std::chrono::seconds(7200));
  CHECK(settings.idle->gpu_util_below == 5);
  CHECK(settings.max_age == std::chrono::seconds(259200));
  environment["LAUNCHER_IDLE_GPU_UTIL_BELOW"] = "20";
  CHECK(parse_settings(environment).idle->gpu_util_below == 20);
  // max_age ends any env; idle only one whose users come and go.
  auto command = minimal("command");
  command["LAUNCHER_MAX_AGE"] = "60";
  CHECK(parse_settings(command).max_age == std::chrono::seconds(60));
}

TEST_CASE("settings: a bad idle or max_age names its variable") {
  auto environment = minimal();
  environment["LAUNCHER_IDLE_STOP_AFTER"] = "2h";
  CHECK(error_of(environment) ==
        "failed to read setting: LAUNCHER_IDLE_STOP_AFTER: expected a number from 1 to 316224000, found '2h'");
  environment["LAUNCHER_IDLE_STOP_AFTER"] = "60";
  environment["LAUNCHER_IDLE_GPU_UTIL_BELOW"] = "0";
  CHECK(error_of(environment) ==
        "failed to read setting: LAUNCHER_IDLE_GPU_UTIL_BELOW: expected a number from 1 to 100, found '0'");
  environment = minimal();
  environment["LAUNCHER_MAX_AGE"] = "0";
  CHECK_THAT(error_of(environment), Catch::StartsWith("failed to read setting: LAUNCHER_MAX_AGE: expected a number"));
  auto shell = minimal("shell");
  shell["LAUNCHER_IDLE_STOP_AFTER"] = "60";
  CHECK(error_of(shell) ==
        "failed to read setting: LAUNCHER_IDLE_STOP_AFTER: an idle stop needs the jupyter or ssh service, found shell");
}
