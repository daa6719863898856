// `launcher gpus` against the real engine: the GPUs replayed from a recorded host (--facts), the
// envs and their labels as Docker really reports them.
#include "support.hpp"

using namespace launcher::e2e;
using launcher::process::run_process;
using nlohmann::json;

TEST_CASE("gpus --facts shows a running env of the real engine on the GPU its label names", "[e2e][gpus][docker]") {
  require_engine();
  TempDir dir;
  std::string name = unique_name("gpus");
  ContainerGuard guard{name};
  // A stand-in for an env: what `launcher gpus` reads is the labels and the LAUNCHER_* settings.
  auto started =
      run_process({docker(), "run", "-d", "--name", name, "--label", "io.launcher.env=" + name, "--label",
                   "io.launcher.profile=shell", "--label", "io.launcher.gpus=6", "-e", "LAUNCHER_USER=e2e-user", "-e",
                   "LAUNCHER_UID=" + std::to_string(geteuid()), base_image(), "sleep", "60"});
  REQUIRE(started.exit_code == 0);
  auto result = run_launcher(dir, {"gpus", "--json", "--facts", (fixtures_dir() / "gpu/8x-h100-two-socket").string()});
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  json gpus = json::parse(result.out)["gpus"];
  REQUIRE(gpus.size() == 8);
  json held;
  for (const auto& env : gpus[6]["envs"])
    if (env["env"] == name) held = env;
  REQUIRE(held.is_object());
  CHECK(held["user"] == "e2e-user");
  CHECK(held["profile"] == "shell");
  CHECK(held["state"] == "running");
  // Docker's StartedAt, to the minute: "2026-12-06 21:50 UTC".
  CHECK(held["since"].get<std::string>().size() == 20);
  CHECK(gpus[1]["foreign_processes"][0]["user"] == "carol");
}
