#include <catch2/catch.hpp>

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
