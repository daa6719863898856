// The image the built-in profiles run without --image: the one `launcher default-image` recorded
// (as `make up` does after its build).
#include <catch2/catch.hpp>

#include "engine/podman_engine.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

TEST_CASE("after default-image records an image, up --profile ssh without --image runs on it", "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  // A home of the test's own: the built-in ssh profile lets in the keys of its ~/.ssh/*.pub.
  ClientKey client;
  dir.write("home/.ssh/id_ed25519.pub", client.public_line + "\n");
  const std::vector<std::string> home{"HOME=" + (dir.path / "home").string()};
  auto recorded = run_launcher(dir, {"default-image", lifecycle_image()}, home);
  INFO(recorded.err);
  REQUIRE(recorded.exit_code == 0);

  UpEnvironment env{dir, unique_name("default-image")};
  auto started = run_launcher(dir, {"up", "--profile", "ssh", "--name", env.name, "--json", "--timeout", "180"}, home);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(json::parse(started.out)["image"] == lifecycle_image());
  auto image =
      launcher::process::run_process({docker(), "container", "inspect", "--format", "{{.Config.Image}}", env.name});
  CHECK(launcher::engine::short_image_name(image.out) == lifecycle_image() + "\n"); // Podman names it in full
}
