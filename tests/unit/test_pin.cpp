#include <catch2/catch.hpp>

#include "fake_engine.hpp"
#include "pin/pin.hpp"
#include "support.hpp"

using namespace launcher;
using nlohmann::json;

TEST_CASE("image references split into repository, tag and digest", "[pin]") {
  const std::string digest = "sha256:" + std::string(64, 'a');
  CHECK(pin::pinned_digest("team/img:1.0@" + digest) == digest);
  CHECK_FALSE(pin::pinned_digest("team/img:1.0"));
  CHECK(pin::without_digest("team/img:1.0@" + digest) == "team/img:1.0");
  CHECK(pin::repository_of("127.0.0.1:5000/team/img:1.0@" + digest) == "127.0.0.1:5000/team/img");
  CHECK(pin::repository_of("127.0.0.1:5000/team/img") == "127.0.0.1:5000/team/img");
  CHECK(pin::repository_of("img:latest") == "img");
}

TEST_CASE("the registry digest is the one for the image's own repository", "[pin]") {
  json image{{"RepoDigests", {"mirror.example/img@sha256:111", "127.0.0.1:5000/team/img@sha256:222"}}};
  CHECK(pin::registry_digest(image, "127.0.0.1:5000/team/img") == "sha256:222");
  CHECK_FALSE(pin::registry_digest(image, "other/img"));
  CHECK_FALSE(pin::registry_digest(json{{"RepoDigests", json::array()}}, "img"));
}

TEST_CASE("require_pinned_image is a team-file switch", "[pin]") {
  CHECK(testing::team_source(R"({"version": 1, "require_pinned_image": true, "profiles": {}})").require_pinned_image);
  CHECK_FALSE(testing::team_source(R"({"version": 1, "profiles": {}})").require_pinned_image);
  testing::require_error(
      [] { testing::team_source(R"({"version": 1, "require_pinned_image": "yes", "profiles": {}})"); }, ExitCode::usage,
      "launcher.json:/require_pinned_image: expected true or false, found \"yes\"");
}

namespace {

const std::string pin_digest = "sha256:" + std::string(64, 'a');
const std::string reference = "registry.example.com/team/img:1.0@" + pin_digest;
const profile::Origin team_file{"/work/launcher.json", "/profiles/dev/image"};

} // namespace

// The pin is checked in the engine's images; what the engine's CLI says is test_docker.cpp's.
TEST_CASE("a pinned image passes only when this host has exactly its digest", "[pin][engine]") {
  testing::FakeEngine engine;
  pin::verify_pinned_image(engine, "team/img:1.0", team_file);
  CHECK(engine.asked().empty()); // an unpinned reference asks nothing

  engine.add_image("registry.example.com/team/img@" + pin_digest, json{{"Id", "sha256:1"}});
  pin::verify_pinned_image(engine, reference, team_file);
  CHECK(engine.asked() == std::vector<std::string>{"inspect_image registry.example.com/team/img@" + pin_digest});
}

TEST_CASE("a pinned image this host lacks, or has under another digest, is refused with the command that fetches it",
          "[pin][engine]") {
  const std::string fetch = "get the pinned one with `docker pull registry.example.com/team/img@" + pin_digest + "`";
  testing::FakeEngine engine;
  testing::require_error([&] { pin::verify_pinned_image(engine, reference, team_file); }, ExitCode::failed,
                         "/work/launcher.json:/profiles/dev/image: the pinned image registry.example.com/team/img@" +
                             pin_digest + " is not on this host; " + fetch);
  CHECK(engine.asked() == std::vector<std::string>{"inspect_image registry.example.com/team/img@" + pin_digest,
                                                   "inspect_image registry.example.com/team/img:1.0"});

  engine.add_image("registry.example.com/team/img:1.0",
                   json{{"Id", "sha256:2"}, {"RepoDigests", {"registry.example.com/team/img@sha256:bbb"}}});
  testing::require_error([&] { pin::verify_pinned_image(engine, reference, team_file); }, ExitCode::failed,
                         "/work/launcher.json:/profiles/dev/image: registry.example.com/team/img:1.0 is pinned to " +
                             pin_digest + ", but the local registry.example.com/team/img:1.0 is sha256:bbb; " + fetch +
                             ", or pin the new one with `launcher pin`");

  engine.add_image("registry.example.com/team/img:1.0", json{{"Id", "sha256:2"}}); // built here, never pushed
  testing::require_error([&] { pin::verify_pinned_image(engine, reference, team_file); }, ExitCode::failed,
                         "/work/launcher.json:/profiles/dev/image: registry.example.com/team/img:1.0 is pinned to " +
                             pin_digest +
                             ", but the local registry.example.com/team/img:1.0 is an image no registry gave a "
                             "digest for (id sha256:2); " +
                             fetch + ", or pin the new one with `launcher pin`");
}
