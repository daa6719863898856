#include <algorithm>

#include "secrets/env_secrets.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

TEST_CASE("an invalid team file fails with exit code 2 naming file and pointer", "[e2e][cli]") {
  TempDir dir;
  dir.write("launcher.json", R"({"version": 1, "profiles": {"dev": {"ports": [{"host": 70000, "container": 22}]}}})");
  std::filesystem::create_directories(dir.path / "sub");
  auto result = run_launcher(dir, {"render", "--profile", "dev"});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK(result.err == "launcher: error: " + (dir.path / "launcher.json").string() +
                          ":/profiles/dev/ports/0/host: expected an integer 1-65535 or \"auto\", found 70000\n");
}

TEST_CASE("a syntax error in the user file names line and column", "[e2e][cli]") {
  TempDir dir;
  dir.write(".config/launcher/profiles.json", "{\n  \"version\": 1\n  \"profiles\": {}\n}\n");
  auto result = run_launcher(dir, {"profiles"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find(
            (dir.path / ".config/launcher/profiles.json").string() +
            ":3:12: JSON syntax error: syntax error while parsing object - unexpected string literal; expected '}'") !=
        std::string::npos);
}

TEST_CASE("asking for more GPUs than the host has exits 3", "[e2e][cli]") {
  TempDir dir;
  auto result = run_launcher(dir, {"render", "--gpus", "64"});
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("command line (--gpus 64): asks for 64 GPU(s), this host has") != std::string::npos);
}

TEST_CASE("LAUNCHER_GPU_RUNTIME=cdi renders GPUs as CDI devices and a wrong value names the variable", "[e2e][cli]") {
  TempDir dir;
  auto rendered = run_launcher(dir, {"render", "--json", "--gpus", "all"}, {"LAUNCHER_GPU_RUNTIME=cdi"});
  REQUIRE(rendered.exit_code == 0);
  json result = json::parse(rendered.out);
  auto argv = result["argv"].get<std::vector<std::string>>();
  auto device = std::find(argv.begin(), argv.end(), "--device");
  REQUIRE(device != argv.end());
  CHECK(*(device + 1) == "nvidia.com/gpu=all");
  CHECK(std::find(argv.begin(), argv.end(), "--gpus") == argv.end());
  CHECK(result["plan"]["gpu_runtime"] == "cdi");
  CHECK(result["origins"]["/gpu_runtime"] == "LAUNCHER_GPU_RUNTIME");

  auto wrong = run_launcher(dir, {"render"}, {"LAUNCHER_GPU_RUNTIME=nvdia"});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err == "launcher: error: LAUNCHER_GPU_RUNTIME: unknown GPU runtime \"nvdia\"; expected \"nvidia\" or "
                     "\"cdi\"\n");
}

TEST_CASE("profiles lists every profile with the files that define it", "[e2e][cli]") {
  TempDir dir;
  dir.write("launcher.json",
            R"({"version": 1, "profiles": {"train": {"extends": "jupyter", "description": "team training"}}})");
  auto table = run_launcher(dir, {"profiles"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("train            jupyter  " + (dir.path / "launcher.json").string()) != std::string::npos);
  auto listed = json::parse(run_launcher(dir, {"profiles", "--json"}).out);
  REQUIRE(listed.size() == 4);
  // The team file's trust, for the profiles it defines: this one widens nothing.
  CHECK(listed[3]["team_file"]["needs_approval"] == false);
  CHECK(listed[3]["team_file"]["widens"] == json::array());
  CHECK_FALSE(listed[0].contains("team_file"));
  listed[3].erase("team_file");
  CHECK(listed[3] == json{{"name", "train"},
                          {"sources", {(dir.path / "launcher.json").string()}},
                          {"service", "jupyter"},
                          {"description", "team training"}});
}

TEST_CASE("up --dry-run prints the command and starts nothing", "[e2e][cli][docker]") {
  require_engine();
  TempDir dir;
  std::string name = unique_name("dry-run");
  auto result = run_launcher(dir, {"up", "--dry-run", "--profile", "jupyter", "--name", name, "--image", base_image()});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("docker run -d \\\n    --name " + name + " \\\n") == 0);
  auto listed = launcher::process::run_process(
      {docker(), "ps", "-a", "--filter", "label=io.launcher.env=" + name, "--format", "{{json .}}"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.empty());
}

TEST_CASE("up with an image the host lacks says how to get it", "[e2e][cli][docker]") {
  require_engine();
  TempDir dir;
  std::string name = unique_name("absent");
  auto result = run_launcher(dir, {"up", "--image", "launcher-e2e/absent:1.0", "--name", name});
  CHECK(result.exit_code == 1);
  // Nothing half-made stays: neither the container nor its network.
  CHECK(launcher::process::run_process({docker(), "network", "inspect", "launcher-" + name}).exit_code != 0);
  CHECK(without_warnings(result.err) ==
        "launcher: error: image launcher-e2e/absent:1.0 is not on this host: pull it (`docker pull "
        "launcher-e2e/absent:1.0`)\n");
}

TEST_CASE("secret show prints an environment's secrets on request, rotate replaces them", "[e2e][cli]") {
  TempDir dir;
  auto missing = run_launcher(dir, {"secret", "show", "proj-jupyter"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "launcher: error: environment \"proj-jupyter\" has no secrets (looked in " +
                           (dir.path / ".state/launcher/envs/proj-jupyter/secrets").string() +
                           "); `launcher up` creates them\n");

  auto rendered = json::parse(run_launcher(dir, {"render", "--json", "--name", "proj-jupyter"}).out);
  launcher::plan::Plan plan;
  plan.env = "proj-jupyter";
  plan.service = launcher::plan::Service::jupyter;
  plan.access.secrets_dir = rendered["plan"]["access"]["secrets_dir"];
  plan.access.jupyter_auth = launcher::plan::JupyterAuth::token;
  std::string token = *launcher::secrets::ensure_env_secrets(plan, dir.path).jupyter_token;

  auto shown = run_launcher(dir, {"secret", "show", "proj-jupyter"});
  CHECK(shown.exit_code == 0);
  CHECK(shown.out == "jupyter token:    " + token + "\n");
  CHECK(json::parse(run_launcher(dir, {"secret", "show", "proj-jupyter", "--json"}).out) ==
        json{{"jupyter_token", token}});

  auto rotated = json::parse(run_launcher(dir, {"secret", "rotate", "proj-jupyter", "--json"}).out);
  CHECK(rotated["jupyter_token"] != token);
  CHECK(json::parse(run_launcher(dir, {"secret", "show", "proj-jupyter", "--json"}).out) == rotated);
  // Other commands never print it.
  CHECK(run_launcher(dir, {"render", "--name", "proj-jupyter"}).out.find(rotated["jupyter_token"].get<std::string>()) ==
        std::string::npos);
}
