// Which image the built-in profiles run: the user's recorded default image (`launcher
// default-image`, which `make up` calls), under every profile source, and the image make up builds
// when none is recorded.
#include <catch2/catch.hpp>

#include "command_bench.hpp"
#include "core/atomic_file.hpp"
#include "core/read_file.hpp"

using namespace launcher;
using launcher::testing::Bench;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string built_by_make_up = "pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime";
const std::string recorded_image = "pytorch-cpu:1.13.0a0-debian12";
const std::string pinned =
    "registry.example.com/team/pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime@sha256:" + std::string(64, 'a');

// The image `render` resolves for the built-in ssh profile with `flags`, and where it came from.
std::pair<std::string, std::string> rendered_image(Bench& bench, std::vector<std::string> flags = {}) {
  std::vector<std::string> args{"render", "--json", "--profile", "ssh", "--name", "unit-env", "--gpus", "none"};
  args.insert(args.end(), flags.begin(), flags.end());
  int exit_code = bench.run(args);
  INFO(bench.err.str());
  REQUIRE(exit_code == 0);
  json rendered = json::parse(bench.out.str());
  return {rendered["plan"]["image"], rendered["origins"]["/image"]};
}

fs::path record_of(const Bench& bench) { return bench.dir.path / "state/launcher/default-image.json"; }

void has_image(Bench& bench, const std::string& image) { bench.engine.add_image(image, {{"Id", "sha256:1"}}); }

} // namespace

TEST_CASE("the built-in profiles run the recorded default image, under the user's file, the team's pin and --image",
          "[commands][default-image]") {
  Bench bench;
  // Nothing recorded: the image make up builds.
  CHECK(rendered_image(bench) == std::pair<std::string, std::string>{built_by_make_up, "default"});

  has_image(bench, recorded_image);
  REQUIRE(bench.run({"default-image", recorded_image}) == 0);
  CHECK(rendered_image(bench) == std::pair<std::string, std::string>{recorded_image, record_of(bench).string()});

  const fs::path user_file = bench.dir.path / "config/launcher/profiles.json";
  fs::create_directories(user_file.parent_path());
  write_file_atomically(user_file, R"({"version": 1, "profiles": {"ssh": {"image": "mine/image:2"}}})", 0644);
  CHECK(rendered_image(bench) ==
        std::pair<std::string, std::string>{"mine/image:2", user_file.string() + ":/profiles/ssh/image"});

  has_image(bench, "registry.example.com/team/pytorch-cuda@sha256:" + std::string(64, 'a')); // the pin is checked
  const fs::path team_file = bench.dir.path / "project/launcher.json";
  write_file_atomically(team_file, json{{"version", 1}, {"profiles", {{"ssh", {{"image", pinned}}}}}}.dump(), 0644);
  CHECK(rendered_image(bench) ==
        std::pair<std::string, std::string>{pinned, team_file.string() + ":/profiles/ssh/image"});

  CHECK(rendered_image(bench, {"--image", "flag/image:3"}).first == "flag/image:3");
}

TEST_CASE("default-image records an image on this host and says where, and without IMAGE shows the default",
          "[commands][default-image]") {
  Bench bench;
  REQUIRE(bench.run({"default-image"}) == 0);
  CHECK(bench.out.str() == built_by_make_up + " (nothing recorded in " + record_of(bench).string() +
                               ": the image `make up` builds): the built-in profiles run it unless a profile file, "
                               "the team's pin or --image names another\n");

  has_image(bench, recorded_image);
  REQUIRE(bench.run({"default-image", recorded_image}) == 0);
  CHECK(bench.out.str() == recorded_image + " (recorded in " + record_of(bench).string() +
                               "): the built-in profiles run it unless a profile file, the team's pin or --image "
                               "names another\n");
  CHECK(json::parse(read_file(record_of(bench))) == json{{"version", 1}, {"image", recorded_image}});
  CHECK((fs::status(record_of(bench)).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));

  REQUIRE(bench.run({"default-image", "--json"}) == 0);
  CHECK(json::parse(bench.out.str()) ==
        json{{"image", recorded_image}, {"recorded", true}, {"record", record_of(bench).string()}});
}

TEST_CASE("default-image refuses an image the host lacks, naming the build that makes it, and a bad reference",
          "[commands][default-image]") {
  Bench bench;
  CHECK(bench.run({"default-image", built_by_make_up}) == 1);
  CHECK(bench.err.str() == "launcher: error: image " + built_by_make_up +
                               " is not on this host: `make up` in the launcher repository builds it and starts "
                               "JupyterLab on it (`make real-image` only builds it), or pull it (`docker pull " +
                               built_by_make_up + "`)\n");
  CHECK(bench.run({"default-image", "not an image"}) == 2);
  CHECK(bench.err.str() == "launcher: error: IMAGE:/image: expected an image reference like \"repo/name:tag\" or "
                           "\"name@sha256:<digest>\", found \"not an image\"\n");
  CHECK_FALSE(fs::exists(record_of(bench)));
  CHECK(bench.engine.asked_to("inspect_image not an image").empty());
}

TEST_CASE("a damaged default-image record is an error naming it, for every command that resolves a profile",
          "[commands][default-image]") {
  Bench bench;
  fs::create_directories(record_of(bench).parent_path());
  for (const std::string text : {"{", R"({"version": 1})", R"({"version": 2, "image": "a:1"})"}) {
    write_file_atomically(record_of(bench), text, 0600);
    CHECK(bench.run({"render", "--profile", "ssh", "--gpus", "none"}) == 1);
    CHECK(bench.err.str() == "launcher: error: " + record_of(bench).string() +
                                 ": not a record of the default image ({\"version\": 1, \"image\": \"...\"}); record "
                                 "one with `launcher default-image IMAGE`, or remove the file\n");
  }
  write_file_atomically(record_of(bench), R"({"version": 1, "image": "--privileged"})", 0600);
  CHECK(bench.run({"render", "--profile", "ssh", "--gpus", "none"}) == 2);
  CHECK(bench.err.str() == "launcher: error: " + record_of(bench).string() +
                               ":/image: expected an image reference like \"repo/name:tag\" or "
                               "\"name@sha256:<digest>\", found \"--privileged\"\n");
}
