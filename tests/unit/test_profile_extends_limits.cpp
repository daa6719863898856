// Issue 24: a team file is input. However long its extends chains, cycles or lists, resolving
// it ends with a result or one error naming the culprit, without recursion and in linear time
// (the sizes below took minutes, or crashed the stack, when either was not so).
#include <catch2/catch.hpp>

#include "profile/flags.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::builtin_source;
using launcher::testing::require_error;
using launcher::testing::team_source;
using nlohmann::json;

namespace {

// p0 extends p1, ... p{count-2} extends p{count-1}; the last extends `last_extends` when given.
std::string chain_file(std::size_t count, const std::string& last_extends = "") {
  std::string text = R"({"version": 1, "profiles": {)";
  for (std::size_t i = 0; i < count; ++i) {
    std::string target = i + 1 < count ? "p" + std::to_string(i + 1) : last_extends;
    text += (i ? ", " : "") + ("\"p" + std::to_string(i) + "\": {") +
            (target.empty() ? "" : "\"extends\": \"" + target + "\"") + "}";
  }
  return text + "}}";
}

profile::Catalog catalog_of(const std::string& team_text) { return {{builtin_source(), team_source(team_text)}}; }

std::string error_of(const profile::Catalog& catalog, const std::string& name) {
  try {
    profile::merge_profile(catalog, name);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

plan::Plan plan_of(const profile::Catalog& catalog, const std::string& name,
                   const std::vector<profile::Sourced>& overrides = {}) {
  testing::FakeGpus gpus(0);
  return plan::resolve_plan(name, profile::merge_profile(catalog, name, overrides), testing::test_host(0),
                            testing::FakePaths{}.probe(), gpus)
      .plan;
}

} // namespace

TEST_CASE("an extends chain of 64 levels is followed, one of 65 is an error naming where it starts",
          "[profile][catalog][limits]") {
  profile::Catalog fits = catalog_of(chain_file(65, "jupyter")); // p0 .. p64, then jupyter: 65 levels from p0
  CHECK(profile::merge_profile(fits, "p1").fields["service"] == "jupyter");
  require_error([&] { profile::merge_profile(fits, "p0"); }, ExitCode::usage,
                "launcher.json:/profiles/p0/extends: an extends chain deeper than 64 levels: p0 -> p1 -> p2 -> ... "
                "-> jupyter (65 levels)");
}

TEST_CASE("a chain of 15 000 profiles gives each profile its error or its result", "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(chain_file(15000));
  CHECK(error_of(catalog, "p0") == "launcher.json:/profiles/p0/extends: an extends chain deeper than 64 levels: p0 "
                                   "-> p1 -> p2 -> ... -> p14999 (14999 levels)");
  CHECK(error_of(catalog, "p14934") == "launcher.json:/profiles/p14934/extends: an extends chain deeper than 64 "
                                       "levels: p14934 -> p14935 -> p14936 -> ... -> p14999 (65 levels)");
  // Every profile, as `launcher profiles` merges them: one walk of the file in all.
  std::size_t errors = 0;
  for (const auto& name : catalog.profile_names())
    errors += error_of(catalog, name).empty() ? 0 : 1;
  CHECK(errors == 15000 - 65);
}

TEST_CASE("a 100 000-profile chain is one clear error", "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(chain_file(100000));
  CHECK(error_of(catalog, "p0") == "launcher.json:/profiles/p0/extends: an extends chain deeper than 64 levels: p0 "
                                   "-> p1 -> p2 -> ... -> p99999 (99999 levels)");
  CHECK(error_of(catalog, "p99999").empty());
}

TEST_CASE("a 20 000-profile cycle is shown cut short, once for every profile in it", "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(chain_file(20000, "p0"));
  const std::string cycle = "launcher.json:/profiles/p19999/extends: an extends cycle of 20000 profiles: p0 -> p1 "
                            "-> p2 -> ... -> p19999 -> p0";
  CHECK(error_of(catalog, "p0") == cycle);
  std::size_t same = 0;
  for (const auto& name : catalog.profile_names())
    same += error_of(catalog, name) == cycle ? 1 : 0;
  CHECK(same == 20000);
}

TEST_CASE("a short cycle is shown from the profile asked for, whole", "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(
      R"({"version": 1, "profiles": {"x1": {"extends": "a1"}, "a1": {"extends": "b1"}, "b1": {"extends": "a1"}}})");
  CHECK(error_of(catalog, "x1") == "launcher.json:/profiles/b1/extends: extends cycle: x1 -> a1 -> b1 -> a1");
  CHECK(error_of(catalog, "b1") == "launcher.json:/profiles/a1/extends: extends cycle: b1 -> a1 -> b1");
  // Met within the depth limit, a cycle is shown whole however many profiles it goes round.
  profile::Catalog nine = catalog_of(chain_file(9, "p0"));
  CHECK(error_of(nine, "p3") == "launcher.json:/profiles/p2/extends: extends cycle: p3 -> p4 -> p5 -> p6 -> p7 -> "
                                "p8 -> p0 -> p1 -> p2 -> p3");
}

TEST_CASE("a cycle reached past the depth limit is named by the cycle", "[profile][catalog][limits]") {
  // t0 .. t69 lead to c0, which is in a cycle of two.
  std::string text = R"({"version": 1, "profiles": {"c0": {"extends": "c1"}, "c1": {"extends": "c0"})";
  for (int i = 0; i < 70; ++i)
    text +=
        ", \"t" + std::to_string(i) + "\": {\"extends\": \"" + (i < 69 ? "t" + std::to_string(i + 1) : "c0") + "\"}";
  profile::Catalog catalog = catalog_of(text + "}}");
  CHECK(error_of(catalog, "t0") ==
        "launcher.json:/profiles/c1/extends: an extends cycle of 2 profiles: c0 -> c1 -> c0");
  CHECK(error_of(catalog, "t60") == "launcher.json:/profiles/c1/extends: extends cycle: t60 -> t61 -> t62 -> t63 -> "
                                    "t64 -> t65 -> t66 -> t67 -> t68 -> t69 -> c0 -> c1 -> c0");
}

TEST_CASE("a missing extends target at the end of a chain names the extends that names it",
          "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(chain_file(10, "jupytr"));
  CHECK(error_of(catalog, "p0") ==
        "launcher.json:/profiles/p9/extends: extends \"jupytr\", which no profile file defines (did you mean "
        "\"jupyter\"?)");
}

TEST_CASE("a missing profile lists at most 30 of the profiles there are", "[profile][catalog][limits]") {
  profile::Catalog catalog = catalog_of(chain_file(100));
  std::string message = error_of(catalog, "nope");
  CHECK(message.find("; profiles: jupyter, p0, p1, p10, p11, ") != std::string::npos);
  CHECK(message.size() < 400);
  CHECK(message.find(" and 73 more (`launcher profiles`)") != std::string::npos);
}

TEST_CASE("the extends index follows changes to the catalog's sources", "[profile][catalog]") {
  profile::Catalog catalog = catalog_of(R"({"version": 1, "profiles": {"dev": {"extends": "base"}}})");
  CHECK(error_of(catalog, "dev") == "launcher.json:/profiles/dev/extends: extends \"base\", which no profile file "
                                    "defines");
  catalog.sources.push_back(team_source(R"({"version": 1, "profiles": {"base": {"service": "ssh"}}})"));
  CHECK(profile::merge_profile(catalog, "dev").fields["service"] == "ssh");
}

// --- lists of thousands: each item checked against the others through a hash ------------------

TEST_CASE("8 000 ports in a team file are published, one taken twice is named", "[profile][plan][limits]") {
  json ports = json::array();
  for (int i = 0; i < 8000; ++i)
    ports.push_back({{"host", 20000 + i}, {"container", 20000 + i}});
  json file{{"version", 1}, {"profiles", {{"dev", {{"ports", ports}}}}}};
  CHECK(plan_of(catalog_of(file.dump()), "dev").ports.size() == 8000);

  file["profiles"]["dev"]["ports"][7999] = {{"host", 20017}, {"container", 1}};
  require_error([&] { plan_of(catalog_of(file.dump()), "dev"); }, ExitCode::usage,
                "launcher.json:/profiles/dev/ports/7999: host port 20017/tcp on 127.0.0.1 is already published by "
                "launcher.json:/profiles/dev/ports/17");
  // Every address (0.0.0.0) takes the port on 127.0.0.1 too, and the other way round.
  file["profiles"]["dev"]["ports"][7999] = {{"host", 20017}, {"container", 1}, {"bind", "0.0.0.0"}};
  file["profiles"]["dev"]["allow"] = {"unauthenticated-public-port"};
  require_error([&] { plan_of(catalog_of(file.dump()), "dev"); }, ExitCode::usage,
                "launcher.json:/profiles/dev/ports/7999: host port 20017/tcp on 0.0.0.0 is already published by "
                "launcher.json:/profiles/dev/ports/17");
  file["profiles"]["dev"]["ports"][7999] = {{"host", 20017}, {"container", 1}, {"bind", "10.0.0.1"}};
  CHECK(plan_of(catalog_of(file.dump()), "dev").ports.size() == 8000); // another address, another socket
  file["profiles"]["dev"]["ports"][7999] = {{"host", 20017}, {"container", 1}, {"protocol", "udp"}};
  CHECK(plan_of(catalog_of(file.dump()), "dev").ports.size() == 8000); // another protocol
}

TEST_CASE("8 000 volumes in a team file are mounted, one container path taken twice is named",
          "[profile][schema][limits]") {
  json volumes = json::array();
  for (int i = 0; i < 8000; ++i)
    volumes.push_back(
        {{"host", "/data/" + std::to_string(i)}, {"container", "/mnt/" + std::to_string(i)}, {"create", true}});
  json file{{"version", 1}, {"profiles", {{"dev", {{"volumes", volumes}}}}}};
  CHECK(plan_of(catalog_of(file.dump()), "dev").mounts.size() == 8000);

  file["profiles"]["dev"]["volumes"][7999]["container"] = "/mnt/42/";
  require_error([&] { catalog_of(file.dump()); }, ExitCode::usage,
                "launcher.json:/profiles/dev/volumes/7999/container: container path /mnt/42 is already mounted by "
                "launcher.json:/profiles/dev/volumes/42");
}

TEST_CASE("10 000 -p, -v and -e flags each are laid over the profile", "[profile][flags][limits]") {
  profile::FlagOverrides flags;
  for (int i = 0; i < 10000; ++i) {
    flags.ports.push_back(std::to_string(30000 + i) + ":" + std::to_string(30000 + i));
    flags.volumes.push_back("/data/" + std::to_string(i) + ":/mnt/" + std::to_string(i));
    flags.env.push_back("V" + std::to_string(i) + "=" + std::to_string(i));
  }
  profile::FieldContext context{"command line", "/home/alice/project", "/home/alice", nullptr};
  std::vector<profile::Sourced> layers = profile::flag_layers(flags, context);
  profile::Catalog catalog{{builtin_source()}};
  profile::Sourced merged = profile::merge_profile(catalog, "shell", layers);
  CHECK(merged.fields["ports"].size() == 10000);
  CHECK(merged.fields["volumes"].size() == 10001); // and the built-in /workspace
  CHECK(merged.fields["env"].size() >= 10000);
  CHECK(merged.origin_of("/ports/9999").describe() == "command line (--port 39999:39999)");

  // One port given twice is one port, the later flag's.
  flags.ports.push_back("40000:30000");
  profile::Sourced again = profile::merge_profile(catalog, "shell", profile::flag_layers(flags, context));
  CHECK(again.fields["ports"].size() == 10000);
  CHECK(again.fields["ports"][0]["host"] == 40000);
  CHECK(again.origin_of("/ports/0").describe() == "command line (--port 40000:30000)");

  flags.volumes.push_back("/other:/mnt/5");
  require_error([&] { profile::flag_layers(flags, context); }, ExitCode::usage,
                "command line (--volume /other:/mnt/5): container path /mnt/5 is already mounted by --volume "
                "/data/5:/mnt/5");
}
