// "user": "host" when the launcher runs as root: the person who ran sudo, or root with one warning.
#include <catch2/catch.hpp>

#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::FakePaths;
using launcher::testing::require_error;
using nlohmann::json;

namespace {

// Root's facts as read_host_facts gives them; `invoker` as SUDO_UID/SUDO_GID would set it.
host::HostFacts root_host(std::optional<host::SudoInvoker> invoker = std::nullopt) {
  host::HostFacts host = testing::test_host();
  host.user_name = "root";
  host.uid = 0;
  host.gid = 0;
  host.sudo_invoker = std::move(invoker);
  return host;
}

plan::Resolution resolve_on(const host::HostFacts& host, const json& fields) {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  profile::Catalog catalog{
      {profile::parse_profile_source(profile::builtin_profiles_json(), builtin), testing::dev_profile(fields)}};
  testing::FakeGpus gpus;
  return plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), host, FakePaths{}.probe(), gpus);
}

std::optional<std::string> passwd_names(unsigned uid) {
  if (uid == 1000) return "alice";
  return std::nullopt;
}

} // namespace

TEST_CASE("root through sudo: the env's user is who ran sudo, said in the origin, no warning", "[plan][user]") {
  for (const json& fields : {json{{"extends", "jupyter"}}, json{{"extends", "jupyter"}, {"user", "host"}}}) {
    plan::Resolution resolution = resolve_on(root_host(host::SudoInvoker{1000, 1001, "alice"}), fields);
    CHECK(resolution.plan.user.uid == 1000);
    CHECK(resolution.plan.user.gid == 1001);
    CHECK(resolution.plan.user.name == "alice");
    CHECK(resolution.warnings.empty());
    CHECK_THAT(resolution.profile.origin_of("/user").describe(),
               Catch::Contains("under sudo: SUDO_UID=1000, SUDO_GID=1001 (alice)"));
  }
}

TEST_CASE("root without sudo: the env's user stays root, with one warning naming what that voids", "[plan][user]") {
  plan::Resolution resolution = resolve_on(root_host(), {{"extends", "jupyter"}});
  CHECK(resolution.plan.user.uid == 0);
  CHECK(resolution.plan.user.gid == 0);
  CHECK(resolution.plan.user.name == "root");
  REQUIRE(resolution.warnings.size() == 1);
  const std::string& warning = resolution.warnings[0];
  CHECK(warning.find('\n') == std::string::npos);
  CHECK_THAT(warning, Catch::StartsWith("the env's user is root (the launcher runs as root, with no SUDO_UID of "
                                        "another user, and \"user\" is \"host\", default)"));
  CHECK_THAT(warning, Catch::Contains("code in the env runs as root"));
  CHECK_THAT(warning, Catch::Contains("belongs to root"));
  CHECK_THAT(warning, Catch::Contains("set \"user\": \"root\" in a profile (or --user root) to mean it"));
  // A profile's "host" is named as the culprit.
  plan::Resolution named = resolve_on(root_host(), {{"user", "host"}});
  REQUIRE(named.warnings.size() == 1);
  CHECK_THAT(named.warnings[0], Catch::Contains("launcher.json:/profiles/dev/user"));
}

TEST_CASE("root on purpose: \"user\": \"root\" or an explicit uid 0 is silent", "[plan][user]") {
  for (const json& user : {json("root"), json{{"uid", 0}, {"gid", 0}, {"name", "root"}}}) {
    plan::Resolution resolution = resolve_on(root_host(), {{"user", user}});
    CHECK(resolution.plan.user.uid == 0);
    CHECK(resolution.warnings.empty());
    // sudo changes nothing about an explicit user either.
    plan::Resolution under_sudo = resolve_on(root_host(host::SudoInvoker{1000, 1000, "alice"}), {{"user", user}});
    CHECK(under_sudo.plan.user.uid == 0);
    CHECK(under_sudo.warnings.empty());
  }
  plan::Resolution other =
      resolve_on(root_host(host::SudoInvoker{1000, 1000, "alice"}), {{"user", {{"uid", 2000}, {"gid", 2000}}}});
  CHECK(other.plan.user.uid == 2000);
  CHECK(other.warnings.empty());
}

TEST_CASE("not root: \"host\" is the user as before, without a warning", "[plan][user]") {
  plan::Resolution resolution = resolve_on(testing::test_host(), {{"extends", "jupyter"}});
  CHECK(resolution.plan.user.uid == 1000);
  CHECK(resolution.plan.user.name == "alice");
  CHECK(resolution.warnings.empty());
  CHECK(resolution.profile.origin_of("/user").describe() == "default");
}

TEST_CASE("sudo invoker: read from SUDO_UID and SUDO_GID only when running as root", "[host][user]") {
  auto invoker = host::sudo_invoker(0, "1000", "1001", passwd_names);
  REQUIRE(invoker);
  CHECK(invoker->uid == 1000);
  CHECK(invoker->gid == 1001);
  CHECK(invoker->name == "alice");
  // A uid passwd does not know gets the name the launcher uses for unnamed users.
  auto unnamed = host::sudo_invoker(0, "4242", "4242", passwd_names);
  REQUIRE(unnamed);
  CHECK(unnamed->name == "user");
  CHECK_FALSE(host::sudo_invoker(0, nullptr, nullptr, passwd_names));
  CHECK_FALSE(host::sudo_invoker(0, "0", "0", passwd_names)); // root ran sudo: the person is root
  // Not root (sudo -u bob): the process's own user is who runs the env; the variables are not read.
  CHECK_FALSE(host::sudo_invoker(1002, "1000", "1000", passwd_names));
  CHECK_FALSE(host::sudo_invoker(1002, "junk", nullptr, passwd_names));
}

TEST_CASE("sudo invoker: a malformed or half-set SUDO_UID/SUDO_GID is an error naming it", "[host][user]") {
  require_error([] { host::sudo_invoker(0, "alice", "1000", passwd_names); }, ExitCode::usage,
                "SUDO_UID=\"alice\" is not an id 0-2147483647 (sudo sets it to the id of who ran it); unset it or "
                "correct it");
  require_error([] { host::sudo_invoker(0, "1000", "2147483648", passwd_names); }, ExitCode::usage,
                "SUDO_GID=\"2147483648\" is not an id 0-2147483647 (sudo sets it to the id of who ran it); unset it "
                "or correct it");
  require_error([] { host::sudo_invoker(0, "", "1000", passwd_names); }, ExitCode::usage,
                "SUDO_UID=\"\" is not an id 0-2147483647 (sudo sets it to the id of who ran it); unset it or "
                "correct it");
  require_error([] { host::sudo_invoker(0, "-1", "1000", passwd_names); }, ExitCode::usage,
                "SUDO_UID=\"-1\" is not an id 0-2147483647 (sudo sets it to the id of who ran it); unset it or "
                "correct it");
  require_error([] { host::sudo_invoker(0, "1000", nullptr, passwd_names); }, ExitCode::usage,
                "SUDO_UID is set but SUDO_GID is not (sudo sets both); unset it or set the other");
  require_error([] { host::sudo_invoker(0, nullptr, "1000", passwd_names); }, ExitCode::usage,
                "SUDO_GID is set but SUDO_UID is not (sudo sets both); unset it or set the other");
}
