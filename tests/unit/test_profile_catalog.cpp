#include <catch2/catch.hpp>

#include "profile/builtin.hpp"
#include "profile/catalog.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::builtin_source;
using launcher::testing::require_error;
using launcher::testing::team_source;
using nlohmann::json;

namespace {

profile::ProfileSource user_source(const json& profiles) {
  profile::FieldContext context{"/home/alice/.config/launcher/profiles.json", "/home/alice/.config/launcher",
                                "/home/alice", &testing::no_variables};
  return profile::parse_profile_source(json{{"version", 1}, {"profiles", profiles}}.dump(), context);
}

profile::Catalog catalog_with_team(const json& profiles) {
  return {{builtin_source(), team_source(json{{"version", 1}, {"profiles", profiles}}.dump())}};
}

} // namespace

TEST_CASE("JSON syntax errors name the line and column", "[profile][catalog]") {
  require_error([] { team_source("{\n  \"version\": 1,\n  \"profiles\": {,}\n}"); }, ExitCode::usage,
                "launcher.json:3:16: JSON syntax error: syntax error while parsing object key - unexpected ','; "
                "expected string literal");
  require_error([] { team_source(""); }, ExitCode::usage,
                "launcher.json:1:1: JSON syntax error: syntax error while parsing value - unexpected end of input; "
                "expected '[', '{', or a literal");
}

TEST_CASE("the file's top level is checked", "[profile][catalog]") {
  require_error([] { team_source("[]"); }, ExitCode::usage,
                "launcher.json: expected an object {\"version\": 1, \"profiles\": {...}}");
  require_error([] { team_source(R"({"profiles": {}})"); }, ExitCode::usage,
                "launcher.json: missing required key \"version\" (this format is version 1)");
  require_error([] { team_source(R"({"version": 2, "profiles": {}})"); }, ExitCode::usage,
                "launcher.json:/version: expected 1, found 2");
  require_error([] { team_source(R"({"version": 1, "profile": {}})"); }, ExitCode::usage,
                "launcher.json:/profile: unknown key \"profile\" (did you mean \"profiles\"?)");
  require_error([] { team_source(R"({"version": 1})"); }, ExitCode::usage,
                "launcher.json: missing required key \"profiles\"");
  require_error([] { team_source(R"({"version": 1, "profiles": []})"); }, ExitCode::usage,
                "launcher.json:/profiles: expected an object of profiles by name");
  require_error([] { team_source(R"({"version": 1, "profiles": {"my profile": {}}})"); }, ExitCode::usage,
                "launcher.json:/profiles/my profile: expected a profile name of letters, digits, '_', '.' or '-' (2 "
                "characters at least), found \"my profile\"");
  require_error([] { team_source(R"({"version": 1, "profiles": {"dev": []}})"); }, ExitCode::usage,
                "launcher.json:/profiles/dev: expected an object, found an array");
}

TEST_CASE("the built-in profiles are valid and complete", "[profile][catalog]") {
  profile::Catalog catalog{{builtin_source()}};
  CHECK(catalog.profile_names() == std::vector<std::string>{"jupyter", "shell", "ssh"});
  profile::Sourced jupyter = profile::merge_profile(catalog, "jupyter");
  CHECK(jupyter.fields["service"] == "jupyter");
  // Service ports on a free port of loopback, which `up` remembers per env: no fixed port to squat.
  CHECK(jupyter.fields["ports"][0] ==
        json{{"host", "auto"}, {"container", 8888}, {"bind", "127.0.0.1"}, {"protocol", "tcp"}});
  CHECK(jupyter.fields["volumes"][0]["host"] == "/home/alice/project");
  CHECK(jupyter.fields["workdir"] == "/workspace");
  CHECK(profile::merge_profile(catalog, "ssh").fields["ports"][0] ==
        json{{"host", "auto"}, {"container", 22}, {"bind", "127.0.0.1"}, {"protocol", "tcp"}});
}

TEST_CASE("a more specific source overrides field by field, remembering origins", "[profile][catalog]") {
  profile::Catalog catalog{{builtin_source(), user_source({{"jupyter", {{"env", {{"A", "user"}, {"B", "user"}}}}}}),
                            team_source(R"({"version": 1, "profiles": {"jupyter": {
                                "env": {"B": "team"},
                                "ports": [{"host": 8890, "container": 8888}, {"container": 6006}],
                                "volumes": [{"host": "data", "container": "/data", "create": true}]}}})")}};
  profile::Sourced merged = profile::merge_profile(catalog, "jupyter");
  CHECK(merged.fields["env"] == json{{"A", "user"}, {"B", "team"}});
  CHECK(merged.origin_of("/env/A").describe() == "/home/alice/.config/launcher/profiles.json:/profiles/jupyter/env/A");
  CHECK(merged.origin_of("/env/B").describe() == "launcher.json:/profiles/jupyter/env/B");
  // The same container port replaces the built-in binding; a new one is added.
  REQUIRE(merged.fields["ports"].size() == 2);
  CHECK(merged.fields["ports"][0]["host"] == 8890);
  CHECK(merged.origin_of("/ports/0").describe() == "launcher.json:/profiles/jupyter/ports/0");
  CHECK(merged.origin_of("/ports/1").describe() == "launcher.json:/profiles/jupyter/ports/1");
  REQUIRE(merged.fields["volumes"].size() == 2);
  CHECK(merged.origin_of("/volumes/0").describe() == "built-in:/profiles/jupyter/volumes/0");
  CHECK(merged.origin_of("/service").describe() == "built-in:/profiles/jupyter/service");
  CHECK(catalog.sources_defining("jupyter") ==
        std::vector<std::string>{"built-in", "/home/alice/.config/launcher/profiles.json", "launcher.json"});
}

TEST_CASE("the GPU request is merged typed: the last layer that sets it wins, with its origin",
          "[profile][catalog][gpus]") {
  using Kind = profile::GpuRequest::Kind;
  profile::Catalog catalog{{builtin_source(), user_source({{"train", {{"gpus", {{"count", 2}}}}}}),
                            team_source(R"({"version": 1, "profiles": {"train": {"env": {"A": "1"}}}})")}};
  profile::Sourced from_files = profile::merge_profile(catalog, "train");
  CHECK(from_files.gpus == profile::GpuRequest{Kind::select, 2, {}});
  CHECK(from_files.origin_of("/gpus").describe() == "/home/alice/.config/launcher/profiles.json:/profiles/train/gpus");

  profile::FieldContext flag{"command line (--gpus device=3)", "/home/alice/project", "/home/alice", nullptr};
  profile::Sourced with_flag =
      profile::merge_profile(catalog, "train", {profile::validated_layer({{"gpus", "device=3"}}, flag, "")});
  CHECK(with_flag.gpus == profile::GpuRequest{Kind::devices, 0, {"3"}});
  CHECK(with_flag.origin_of("/gpus").describe() == "command line (--gpus device=3)");
  CHECK_FALSE(with_flag.fields.contains("gpus"));

  CHECK_FALSE(profile::merge_profile(catalog, "jupyter").gpus); // the built-ins leave it to the host default
  // A layer made without validation cannot smuggle an untyped request past resolution.
  CHECK_THROWS_AS(profile::as_layer({{"gpus", "all"}}, "test", ""), std::logic_error);
}

TEST_CASE("extends chains across files", "[profile][catalog]") {
  profile::Catalog catalog{
      {builtin_source(), user_source({{"base", {{"extends", "jupyter"}, {"env", {{"A", "1"}}}}}}),
       team_source(R"({"version": 1, "profiles": {"train": {"extends": "base", "gpus": 2, "env": {"B": "2"}}}})")}};
  profile::Sourced train = profile::merge_profile(catalog, "train");
  CHECK(train.fields["service"] == "jupyter");
  CHECK(train.fields["env"] == json{{"A", "1"}, {"B", "2"}});
  CHECK(train.gpus == profile::GpuRequest{profile::GpuRequest::Kind::count, 2, {}});
  CHECK_FALSE(train.fields.contains("extends"));
  CHECK(train.origin_of("/gpus").describe() == "launcher.json:/profiles/train/gpus");
}

TEST_CASE("a missing profile or extends target is named, with a suggestion", "[profile][catalog]") {
  profile::Catalog catalog = catalog_with_team({{"train", {{"extends", "jupytr"}}}});
  require_error([&] { profile::merge_profile(catalog, "train"); }, ExitCode::usage,
                "launcher.json:/profiles/train/extends: extends \"jupytr\", which no profile file defines (did you "
                "mean \"jupyter\"?)");
  require_error([&] { profile::merge_profile(catalog, "trian"); }, ExitCode::usage,
                "profile \"trian\" does not exist (did you mean \"train\"?); profiles: jupyter, shell, ssh, train");
}

TEST_CASE("extends cycles are errors that show the cycle", "[profile][catalog]") {
  profile::Catalog catalog =
      catalog_with_team({{"a1", {{"extends", "b1"}}}, {"b1", {{"extends", "a1"}}}, {"self", {{"extends", "self"}}}});
  require_error([&] { profile::merge_profile(catalog, "a1"); }, ExitCode::usage,
                "launcher.json:/profiles/b1/extends: extends cycle: a1 -> b1 -> a1");
  require_error([&] { profile::merge_profile(catalog, "self"); }, ExitCode::usage,
                "launcher.json:/profiles/self/extends: extends cycle: self -> self");
}

TEST_CASE("a team file may redefine a built-in profile without extends", "[profile][catalog]") {
  profile::Catalog catalog = catalog_with_team({{"ssh", {{"ports", {{{"host", 2200}, {"container", 22}}}}}}});
  profile::Sourced ssh = profile::merge_profile(catalog, "ssh");
  CHECK(ssh.fields["ports"].size() == 1);
  CHECK(ssh.fields["ports"][0]["host"] == 2200);
  CHECK(ssh.fields["service"] == "ssh");
}
