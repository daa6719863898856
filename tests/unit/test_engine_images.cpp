// The argv each engine gives its image operations, its listings and its container command
// (golden), and the commands that use them: `launcher build` and the Slurm SIF build.
#include <unistd.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "build/buildkit.hpp"
#include "cli_bench.hpp"
#include "engine/docker_engine.hpp"
#include "engine/podman_engine.hpp"
#include "fake_docker.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::builtin_plan;
using launcher::testing::FakeDocker;
using nlohmann::json;
using Argv = std::vector<std::string>;

namespace {

const engine::ImageBuild final_stage{
    "/src/images/Dockerfile", "/src", "final", "pytorch-cpu:2.7.1-debian12", {{"TORCH", "2.7.1"}, {"BASE", "b:1"}}};

// Every image operation once, through `engine`.
void use_every_image_operation(const engine::Engine& engine) {
  engine.build_image(final_stage, {});
  CHECK(engine.read_image_file("scratch:1", "/facts.json") == "{}\n");
  CHECK(engine.read_image_file_checked("scratch:1", "/facts.json", "read the facts") == "{}\n");
  CHECK(engine.remove_image("scratch:1"));
  engine.push_image("registry.example.com/team/pytorch-cpu:2.7.1-debian12");
  engine.save_image("pytorch-cpu@sha256:abc", "/cache/.build-1/image.tar", "save the image for apptainer");
}

const std::vector<Argv> image_operations_argv{
    {"build", "--target", "final", "--tag", "pytorch-cpu:2.7.1-debian12", "--file", "/src/images/Dockerfile",
     "--build-arg", "BASE=b:1", "--build-arg", "TORCH=2.7.1", "/src"},
    {"run", "--rm", "--entrypoint", "cat", "scratch:1", "/facts.json"},
    {"run", "--rm", "--entrypoint", "cat", "scratch:1", "/facts.json"},
    {"image", "rm", "scratch:1"},
    {"push", "registry.example.com/team/pytorch-cpu:2.7.1-debian12"},
    {"save", "--output", "/cache/.build-1/image.tar", "pytorch-cpu@sha256:abc"},
};

} // namespace

TEST_CASE("Docker and Podman spell the image operations alike", "[engine][images]") {
  for (const std::string binary : {"docker", "podman"}) {
    FakeDocker fake;
    fake.on({"run", "--rm", "--entrypoint", "cat"}, "{}\n");
    fake.on({}, "");
    docker::Docker cli(binary, fake.runner());
    engine::DockerEngine docker_engine(cli);
    engine::PodmanEngine podman(cli);
    const engine::Engine& engine = binary == "docker" ? static_cast<const engine::Engine&>(docker_engine)
                                                      : static_cast<const engine::Engine&>(podman);
    INFO(binary);
    use_every_image_operation(engine);
    CHECK(fake.calls() == image_operations_argv);
    // A build runs as long as it takes (docker::call_limit's long calls).
    CHECK(fake.timeouts()[0] == std::nullopt);
    // Docker's CLI is told to build with BuildKit; Podman's own Buildah needs no setting.
    const Argv environment = binary == "docker" ? Argv{"DOCKER_BUILDKIT=1"} : Argv{};
    CHECK(fake.environments()[0] == environment);
    CHECK(engine.build_environment() == environment);
    Argv shown{binary};
    shown.insert(shown.end(), image_operations_argv[0].begin(), image_operations_argv[0].end());
    CHECK(engine.build_command(final_stage) == shown);
  }
}

TEST_CASE("Docker's builder is BuildKit, read from its CLI, and Podman's Buildah is refused, asking nothing",
          "[engine][images][buildkit]") {
  FakeDocker with_buildx;
  with_buildx.on({"version"}, R"({"Version":"28.2.2"})"
                              "\n");
  with_buildx.on({"buildx", "version"}, "github.com/docker/buildx v0.24.0\n");
  CHECK(engine::DockerEngine(docker::Docker("docker", with_buildx.runner())).builder_missing() == std::nullopt);
  CHECK(with_buildx.calls() == std::vector<Argv>{{"version", "--format", "{{json .Client}}"}, {"buildx", "version"}});

  FakeDocker without_buildx;
  without_buildx.on({"version"}, R"({"Version":"28.2.2"})"
                                 "\n");
  without_buildx.on({"buildx"}, "", 1, "docker: unknown command: docker buildx\n");
  CHECK(engine::DockerEngine(docker::Docker("/usr/bin/docker", without_buildx.runner())).builder_missing() ==
        build::missing_buildkit_message({"/usr/bin/docker", "28.2.2", false}));

  // Buildah labels the image from its cache of the first pass (Podman 4.3): refused, with the way round.
  FakeDocker podman_cli;
  CHECK(engine::PodmanEngine(docker::Docker("podman", podman_cli.runner())).builder_missing() ==
        "launcher build does not build with Podman yet: its builder (Buildah, seen with Podman 4.3) takes the image's "
        "labels from its cache of the first pass, so they would say torch \"unknown\"; build with Docker (launcher "
        "--engine docker build ...) and copy the image in: docker save IMAGE | podman load");
  CHECK(podman_cli.calls().empty());
}

TEST_CASE("an image operation that fails says so as its caller asked", "[engine][images]") {
  FakeDocker fake;
  fake.on({"version"}, "not json", 1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n");
  fake.on({"buildx"}, "", 1, "docker: 'buildx' is not a docker command.\n");
  fake.on({"run"}, "", 1, "cat: /usr/local/share/launcher/toolkit-facts.json: No such file or directory\n");
  fake.on({"image", "rm"}, "", 1, "Error response from daemon: No such image: scratch:1\n");
  fake.on({"push"}, "", 1, "denied: requested access to the resource is denied\n");
  fake.on({"save"}, "", 1, "Error response from daemon: No such image: pytorch-cpu@sha256:abc\n");
  engine::DockerEngine engine(docker::Docker("docker", fake.runner()));
  try {
    engine.builder_missing();
    FAIL("no error");
  } catch (const Error& error) { // the CLI's output named as its command
    CHECK_THAT(error.what(), Catch::Contains("docker version --format '{{json .Client}}'"));
  }
  CHECK(engine.read_image_file("scratch:1", "/usr/local/share/launcher/toolkit-facts.json") == std::nullopt);
  testing::require_error(
      [&] { engine.read_image_file_checked("scratch:1", "/facts.json", "read the image's torch facts"); },
      ExitCode::failed,
      "failed to read the image's torch facts: cat: /usr/local/share/launcher/toolkit-facts.json: No such file or "
      "directory");
  CHECK_FALSE(engine.remove_image("scratch:1"));
  testing::require_error([&] { engine.push_image("r/x:1"); }, ExitCode::failed,
                         "failed to push r/x:1: denied: requested access to the resource is denied");
  testing::require_error([&] { engine.save_image("pytorch-cpu@sha256:abc", "/a.tar", "save the image for apptainer"); },
                         ExitCode::failed,
                         "failed to save the image for apptainer: the image is not on this host (No such image: "
                         "pytorch-cpu@sha256:abc)");
}

TEST_CASE("Docker's listings, log tail and container command", "[engine][docker]") {
  FakeDocker fake;
  fake.on({"ps", "-a", "-q"}, "c1\n\nc2\n");
  fake.on({"container", "inspect"}, R"([{"Name": "/a"}, {"Name": "/b"}])");
  fake.on({"ps", "-a", "--no-trunc"}, R"({"id":"c1","name":"a","image":"i:1","state":"running","status":"Up 3 hours",)"
                                      R"("ports":"","labels":{"io.launcher.env":"a"}})"
                                      "\n");
  fake.on({"logs"}, "last words\n", 0, "\x1b[31mred\n");
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  CHECK(docker_engine.containers_labelled("io.launcher.env=a").size() == 2);
  auto listed = docker_engine.list_labelled("io.launcher.env", {"io.launcher.env"});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].labels.at("io.launcher.env") == "a");
  CHECK(docker_engine.logs_tail("a", 40) == "last words\n\\x1b[31mred\n");
  CHECK(fake.calls() == std::vector<Argv>{
                            {"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env=a"},
                            {"container", "inspect", "c1", "c2"},
                            {"ps", "-a", "--no-trunc", "--filter", "label=io.launcher.env", "--format",
                             docker::listing_format({"io.launcher.env"})},
                            {"logs", "--tail", "40", "a"},
                        });

  FakeDocker none;
  none.on({"ps"}, "\n");
  engine::DockerEngine empty(docker::Docker("docker", none.runner()));
  CHECK(empty.containers_labelled("io.launcher.env").empty());
  CHECK(none.calls().size() == 1); // no inspect of nothing

  // render leaves the program to the engine; the rest is render's, unchanged.
  const plan::Plan plan = builtin_plan("shell", 0);
  render::ContainerCommand rendered = render::render_container_command(plan, "/state/env");
  CHECK(rendered.program.empty());
  for (auto [launch, program] : {std::pair{engine::Launch::detached, Argv{"docker", "run", "-d"}},
                                 std::pair{engine::Launch::created, Argv{"docker", "create"}}}) {
    render::ContainerCommand command = docker_engine.container_command(launch, plan, "/state/env");
    CHECK(command.program == program);
    CHECK(command.options == rendered.options);
    CHECK(command.image_and_command == rendered.image_and_command);
  }
}

TEST_CASE("build --dry-run prints the engine's build command and runs nothing", "[build][engine][images]") {
  testing::CliBench bench;
  REQUIRE(bench.run({"build", "--offline", "--cuda", "cpu", "--context", LAUNCHER_SOURCE_DIR, "--dry-run"}) == 0);
  const std::string context = LAUNCHER_SOURCE_DIR;
  CHECK(bench.out.str().starts_with("DOCKER_BUILDKIT=1 docker build --target final --tag "
                                    "'pytorch-cpu:<torch it reports>-debian12' --file " +
                                    context + "/images/Dockerfile --build-arg "));
  CHECK(bench.out.str().ends_with(" " + context +
                                  "\n# then the same again with the labels read from the image's torch\n"));
  CHECK(bench.docker.calls().empty());

  testing::CliBench podman;
  REQUIRE(podman.run(
              {"--engine", "podman", "build", "--offline", "--cuda", "cpu", "--context", context, "--dry-run"}) == 0);
  CHECK(podman.out.str().starts_with("podman build --target final --tag "));
  CHECK(podman.docker.calls().empty());
}

TEST_CASE("build runs each step as the engine's operation, in order", "[build][engine][images]") {
  testing::CliBench bench;
  const std::string scratch = "launcher-build-scratch:" + std::to_string(getpid());
  const std::string context = LAUNCHER_SOURCE_DIR;
  bench.docker.on({"version", "--format", "{{json .Client}}"}, R"({"Version":"28.2.2"})"
                                                               "\n");
  bench.docker.on({"buildx", "version"}, "github.com/docker/buildx v0.24.0\n");
  bench.docker.on({"image", "inspect", "launcher-base:bookworm"}, R"([{"Id": "sha256:base"}])");
  bench.docker.on({"image", "inspect", "pytorch-cpu:2.7.1-debian12"}, R"([{"Id": "sha256:x", "Size": 1500000000}])");
  bench.docker.on({"build"}, "");
  bench.docker.on({"run", "--rm", "--entrypoint", "cat", scratch, "/usr/local/share/launcher/torch-facts.json"},
                  R"({"torch": "2.7.1", "cuda": null})");
  bench.docker.on({"run", "--rm", "--entrypoint", "cat", scratch, "/usr/local/share/launcher/toolkit-facts.json"}, "",
                  1, "cat: /usr/local/share/launcher/toolkit-facts.json: No such file or directory\n");
  bench.docker.on({"image", "rm"}, "Untagged: " + scratch + "\n");
  REQUIRE(bench.run({"build", "--offline", "--cuda", "cpu", "--context", context, "--json"}) == 0);
  INFO(bench.err.str());
  json result = json::parse(bench.out.str());
  CHECK(result["tag"] == "pytorch-cpu:2.7.1-debian12");
  CHECK(result["size"] == 1500000000.0);
  CHECK(result["nvcc"].is_null());

  const std::vector<Argv>& calls = bench.docker.calls();
  REQUIRE(calls.size() == 9);
  CHECK(calls[0] == Argv{"version", "--format", "{{json .Client}}"});
  CHECK(calls[1] == Argv{"buildx", "version"});
  CHECK(calls[2] == Argv{"image", "inspect", "launcher-base:bookworm"});
  const Argv scratch_build{"build", "--target", "final", "--tag", scratch, "--file", context + "/images/Dockerfile"};
  CHECK(Argv(calls[3].begin(), calls[3].begin() + 7) == scratch_build);
  CHECK(calls[3].back() == context);
  CHECK(calls[4] == Argv{"run", "--rm", "--entrypoint", "cat", scratch, "/usr/local/share/launcher/torch-facts.json"});
  CHECK(calls[5] ==
        Argv{"run", "--rm", "--entrypoint", "cat", scratch, "/usr/local/share/launcher/toolkit-facts.json"});
  const Argv tagged_build{
      "build", "--target", "final", "--tag", "pytorch-cpu:2.7.1-debian12", "--file", context + "/images/Dockerfile"};
  CHECK(Argv(calls[6].begin(), calls[6].begin() + 7) == tagged_build);
  CHECK(std::find(calls[6].begin(), calls[6].end(), "LABEL_TORCH=2.7.1") != calls[6].end());
  CHECK(calls[6].back() == context);
  CHECK(calls[7] == Argv{"image", "rm", scratch});
  CHECK(calls[8] == Argv{"image", "inspect", "pytorch-cpu:2.7.1-debian12"});
}
