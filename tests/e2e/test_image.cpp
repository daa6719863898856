// The offline CPU image `make image` built: what it promises, checked from outside.
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

launcher::process::ProcessResult in_image(const std::string& script) {
  return launcher::process::run_process(
      {docker(), "run", "--rm", "--entrypoint", "sh", lifecycle_image(), "-c", script});
}

} // namespace

TEST_CASE("image: labels tell what torch reported at build time", "[e2e][image]") {
  require_engine();
  require_lifecycle_image();
  json labels = json::parse(
      launcher::process::run_process({docker(), "image", "inspect", lifecycle_image()}).out)[0]["Config"]["Labels"];
  std::string torch = in_image("python3 -c 'import torch; print(torch.__version__)'").out;
  torch.pop_back();
  CHECK(labels["io.launcher.torch"] == torch);
  CHECK(labels["io.launcher.cuda"] == "none");
  CHECK(labels["io.launcher.cudnn"] == "none");
  CHECK(labels["io.launcher.min-driver"] == "none");
  CHECK(labels["org.opencontainers.image.version"] == torch + "-debian12");
  CHECK(labels["org.opencontainers.image.source"] == "images/Dockerfile");
  CHECK(labels.contains("org.opencontainers.image.revision"));
  json config =
      json::parse(launcher::process::run_process({docker(), "image", "inspect", lifecycle_image()}).out)[0]["Config"];
  CHECK(config["Entrypoint"] == json::array({"launcher-init"}));
  CHECK(config["Healthcheck"]["Test"] == json::array({"CMD", "launcher-init", "health"}));
  std::vector<std::string> env = config["Env"];
  CHECK(std::find(env.begin(), env.end(), "NVIDIA_DRIVER_CAPABILITIES=compute,utility") != env.end());
}

TEST_CASE("image: PyTorch validates on CPU and no private key or token is baked in", "[e2e][image]") {
  require_engine();
  require_lifecycle_image();
  auto validation = in_image("python3 -c 'import torch; print(torch.cuda.is_available(), torch.cuda.device_count())'");
  CHECK(validation.out == "False 0\n");
  // Debian's Python packages ship test keys under their test folders; anything else is a leak.
  auto keys = in_image(
      "grep -rIl --exclude-dir=proc --exclude-dir=sys -e 'PRIVATE KEY-----' / 2>/dev/null | grep -v -e '/tests\\?/' ; "
      "ls /etc/ssh/ssh_host_* 2>/dev/null; true");
  CHECK(keys.out.empty());
  auto history = launcher::process::run_process(
      {docker(), "history", "--no-trunc", "--format", "{{.CreatedBy}}", lifecycle_image()});
  REQUIRE(history.exit_code == 0);
  CHECK(history.out.find("PRIVATE KEY") == std::string::npos);
  CHECK(history.out.find("JUPYTER_TOKEN") == std::string::npos);
}

TEST_CASE("image: launcher-init is PID 1 of a started environment", "[e2e][image]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  std::string name = unique_name("pid1");
  auto up =
      run_launcher(dir, {"up", "--profile", "shell", "--gpus", "none", "--name", name, "--image", lifecycle_image()});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  auto comm = launcher::process::run_process({docker(), "exec", name, "cat", "/proc/1/comm"});
  CHECK(comm.out == "launcher-init\n");
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
}

TEST_CASE("image: a change to runtime/ rebuilds only the last layers", "[e2e][image]") {
  require_engine();
  require_lifecycle_image();
  // A copy of the build context with launcher-init touched, built under another tag.
  TempDir context;
  for (const char* part : {"images", "runtime", "kernels", "examples"})
    std::filesystem::copy(std::filesystem::path(source_dir()) / part, context.path / part,
                          std::filesystem::copy_options::recursive);
  // A new comment each run, so the builder stage really rebuilds instead of hitting its cache.
  std::ofstream(context.path / "runtime/launcher-init/src/main.cpp", std::ios::app)
      << "// touched by the layer-reuse test " << getpid() << "-" << std::time(nullptr) << "\n";
  std::string build_docker = std::filesystem::exists("/usr/bin/docker") ? "/usr/bin/docker" : docker();
  // A registry prefix of this run's own: another run on the engine builds and removes its own tag.
  auto build = launcher::process::run_process({launcher_binary(), "--docker", build_docker, "build", "--offline",
                                               "--cuda", "cpu", "--registry", unique_name("reuse"), "--context",
                                               context.path.string(), "--json"});
  INFO(build.err);
  REQUIRE(build.exit_code == 0);
  std::string tag = json::parse(build.out)["tag"];
  CHECK(build.err.find("CACHED") != std::string::npos);

  auto layers = [&](const std::string& image) {
    return json::parse(
        launcher::process::run_process({docker(), "image", "inspect", image}).out)[0]["RootFS"]["Layers"];
  };
  json before = layers(lifecycle_image());
  json after = layers(tag);
  REQUIRE(before.size() == after.size());
  // Everything up to the services stage is shared; only launcher-init's layer and after may differ.
  std::size_t shared = 0;
  while (shared < before.size() && before[shared] == after[shared])
    ++shared;
  CHECK(shared >= before.size() - 2);
  std::cerr << "layer reuse: " << shared << " of " << before.size() << " layers shared, rebuilt in "
            << json::parse(build.out)["seconds"].get<double>() << " s\n";
  launcher::process::run_process({docker(), "image", "rm", tag});
}
