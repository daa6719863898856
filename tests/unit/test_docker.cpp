#include <catch2/catch.hpp>

#include "core/read_file.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "engine/docker_engine.hpp"
#include "fake_docker.hpp"
#include "support.hpp"

using launcher::docker::explain_failure;
using launcher::docker::is_missing_gpu_runtime;
using launcher::docker::listing_format;

// The messages are the Docker CLI's and engine's own, as recorded on this project's hosts.
TEST_CASE("the Docker CLI's failures become one line with the cause and the fix", "[docker]") {
  CHECK(explain_failure(
            "list containers",
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n") ==
        "failed to list containers: the Docker daemon is not running; start it (sudo systemctl start docker, or sudo "
        "dockerd on "
        "a host without systemd)");
  CHECK(explain_failure(
            "list containers",
            "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "
            "\"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/containers/json\": dial unix /var/run/docker.sock: connect: "
            "permission denied\n") == "failed to list containers: permission denied on the Docker socket; add yourself "
                                      "to the docker group (sudo usermod -aG "
                                      "docker $USER, then log in again) or run as root");
  std::string no_toolkit =
      "docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]].\n";
  CHECK(is_missing_gpu_runtime(no_toolkit));
  CHECK(explain_failure("start lab", no_toolkit) == "failed to start lab: Docker cannot give GPUs to containers: the "
                                                    "NVIDIA Container Toolkit is missing or not configured "
                                                    "(install nvidia-container-toolkit, run `sudo nvidia-ctk runtime "
                                                    "configure --runtime=docker`, restart Docker), or run "
                                                    "without GPUs (--gpus none)");
  CHECK(explain_failure("start lab",
                        "docker: Error response from daemon: driver failed programming external connectivity on "
                        "endpoint lab: Bind for 127.0.0.1:8888 failed: port is already allocated.\n") ==
        "failed to start lab: a host port is already in use (driver failed programming external connectivity on "
        "endpoint lab: "
        "Bind for 127.0.0.1:8888 failed: port is already allocated.); free it, or publish on \"auto\" (-p auto:PORT)");
  CHECK(explain_failure("start lab", "Unable to find image 'absent/image:1' locally\n") ==
        "failed to start lab: the image is not on this host (Unable to find image 'absent/image:1' locally)");
  CHECK(explain_failure("stop lab", "Error response from daemon: something new\nsecond line\n") ==
        "failed to stop lab: something new | second line");
  CHECK(explain_failure("start lab", "docker: Error response from daemon: Conflict.\nSee 'docker run --help'.\n") ==
        "failed to start lab: Conflict.");
  CHECK_FALSE(is_missing_gpu_runtime("Error response from daemon: No such container: lab"));
  // Recorded on the CI host once leaked networks had taken Docker's 31 default ranges.
  CHECK(explain_failure("create network launcher-lab",
                        "Error response from daemon: could not find an available, non-overlapping IPv4 address pool "
                        "among the defaults to assign to the network\n") ==
        "failed to create network launcher-lab: Docker has no address range left for another network (every range "
        "of its default-address-pools is taken); remove networks nothing uses, or give dockerd more ranges "
        "(default-address-pools in /etc/docker/daemon.json, then restart it)");
  // Engine 28.5 says it in other words (recorded on the CI host).
  CHECK(explain_failure("create network launcher-lab",
                        "Error response from daemon: all predefined address pools have been fully subnetted\n") ==
        "failed to create network launcher-lab: Docker has no address range left for another network (every range "
        "of its default-address-pools is taken); remove networks nothing uses, or give dockerd more ranges "
        "(default-address-pools in /etc/docker/daemon.json, then restart it)");
}

TEST_CASE("the ps listing format makes the CLI print JSON with the asked labels", "[docker]") {
  std::string format = listing_format({"io.launcher.env", "io.launcher.gpus"});
  CHECK(
      format ==
      R"({"id":{{json .ID}},"name":{{json .Names}},"image":{{json .Image}},"state":{{json .State}},"status":{{json .Status}},)"
      R"("ports":{{json .Ports}},"labels":{"io.launcher.env":{{json (.Label "io.launcher.env")}},)"
      R"("io.launcher.gpus":{{json (.Label "io.launcher.gpus")}}}})");
}

TEST_CASE("a container's GPU request is read once from HostConfig.DeviceRequests", "[docker]") {
  using launcher::JsonReader;
  using launcher::docker::gpu_device_request;
  auto read = [](const char* host_config) {
    nlohmann::json parsed = nlohmann::json::parse(host_config);
    return gpu_device_request(JsonReader(parsed, "docker container inspect"));
  };
  CHECK_FALSE(read(R"({"DeviceRequests": null})"));
  CHECK_FALSE(read(R"({})"));
  auto all = read(R"({"DeviceRequests": [{"Driver": "", "Count": -1, "DeviceIDs": null}]})");
  REQUIRE(all);
  CHECK(all->all());
  auto named = read(R"({"DeviceRequests": [{"Count": 0, "DeviceIDs": ["0", "2"]}]})");
  REQUIRE(named);
  CHECK_FALSE(named->all());
  CHECK(named->device_ids == std::vector<std::string>{"0", "2"});
  auto counted = read(R"({"DeviceRequests": [{"Count": 2, "DeviceIDs": []}]})");
  REQUIRE(counted);
  CHECK(counted->count == 2);
  CHECK(counted->device_ids.empty());
  CHECK_THROWS_WITH(read(R"({"DeviceRequests": [{"DeviceIDs": [0]}]})"),
                    Catch::Contains("DeviceRequests/0/DeviceIDs/0"));
}

TEST_CASE("doctor and the error lines share one reading of Docker's failures", "[docker]") {
  using launcher::docker::classify_failure;
  using launcher::docker::Failure;
  CHECK(classify_failure("Got permission denied while trying to connect to the Docker daemon socket at "
                         "unix:///var/run/docker.sock\n") == Failure::permission_denied);
  CHECK(classify_failure("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
                         "running?\n") == Failure::daemon_down);
  CHECK(classify_failure("Error response from daemon: something new\n") == Failure::other);
}

namespace {

using launcher::ExitCode;
using launcher::docker::call_limit;
using launcher::docker::CallKind;
using std::chrono::seconds;

bool has_control_byte(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7F) return true;
  return false;
}

// A Docker whose CLI answers every call with `answer`, or throws what `fail` throws.
launcher::docker::Docker docker_answering(launcher::process::ProcessResult answer, std::function<void()> fail = {},
                                          std::string_view setting = "") {
  return launcher::docker::Docker(
      "docker",
      [answer, fail](const std::vector<std::string>&, const launcher::process::ProcessOptions&) {
        if (fail) fail();
        return answer;
      },
      setting);
}

} // namespace

TEST_CASE("every kind of engine call has its limit, from one table", "[docker][timeout]") {
  CHECK(call_limit({"ps", "-a"}).kind == CallKind::query);
  CHECK(call_limit({"ps", "-a"}).timeout == seconds(30));
  CHECK(call_limit({"version"}).timeout == seconds(30));
  CHECK(call_limit({"info"}).timeout == seconds(30));
  CHECK(call_limit({"container", "inspect", "x"}).timeout == seconds(30));
  CHECK(call_limit({"network", "ls"}).timeout == seconds(30));
  CHECK(call_limit({"network", "inspect", "n"}).timeout == seconds(30));
  CHECK(call_limit({"diff", "x"}).timeout == seconds(300)); // a walk of the files, slow on fuse-overlayfs
  CHECK(call_limit({"logs", "--tail", "40", "x"}).timeout == seconds(30));
  CHECK(call_limit({"run", "-d", "image"}).kind == CallKind::change);
  CHECK(call_limit({"run", "-d", "image"}).timeout == seconds(60));
  CHECK(call_limit({"network", "create", "n"}).timeout == seconds(60));
  CHECK(call_limit({"rm", "-f", "x"}).timeout == seconds(60));
  CHECK(call_limit({"network", "rm", "n"}).timeout == seconds(60));
  CHECK(call_limit({"start", "x"}).timeout == seconds(60));
  // stop waits its own --time before SIGKILL: the limit allows that and a margin.
  CHECK(call_limit({"stop", "--time", "100", "x"}).kind == CallKind::stop);
  CHECK(call_limit({"stop", "--time", "100", "x"}).timeout == seconds(130));
  CHECK(call_limit({"stop", "x"}).timeout == seconds(40));
  CHECK(call_limit({"exec", "x", "cat", "/f"}).kind == CallKind::own_command);
  CHECK(call_limit({"exec", "x", "cat", "/f"}).timeout == seconds(300));
  CHECK(call_limit({"run", "--rm", "image", "cat", "/f"}).timeout == seconds(300));
  for (const auto& long_call : std::vector<std::vector<std::string>>{
           {"build", "."}, {"commit", "x", "tag"}, {"pull", "i"}, {"push", "i"}, {"logs", "-f", "x"}}) {
    INFO(long_call[0]);
    CHECK(call_limit(long_call).kind == CallKind::long_running);
    CHECK_FALSE(call_limit(long_call).timeout);
  }
}

TEST_CASE("LAUNCHER_DOCKER_TIMEOUT replaces every limit, 0 lifts them, and a bad value is named", "[docker][timeout]") {
  using launcher::docker::parse_timeout_setting;
  CHECK_FALSE(parse_timeout_setting(""));
  CHECK(parse_timeout_setting("5") == seconds(5));
  CHECK(call_limit({"ps"}, seconds(5)).timeout == seconds(5));
  CHECK(call_limit({"run", "-d", "i"}, seconds(5)).timeout == seconds(5));
  CHECK(call_limit({"stop", "--time", "10", "x"}, seconds(5)).timeout == seconds(15));
  CHECK(call_limit({"build", "."}, seconds(5)).timeout == seconds(5));
  CHECK_FALSE(call_limit({"ps"}, seconds(0)).timeout);
  CHECK_FALSE(call_limit({"stop", "x"}, seconds(0)).timeout);
  // The host's own fact commands: the query row's limit.
  using launcher::docker::query_limit;
  CHECK(query_limit(std::nullopt) == seconds(30));
  CHECK(query_limit(seconds(5)) == seconds(5));
  CHECK_FALSE(query_limit(seconds(0)));
  for (const char* bad : {"-1", "abc", "1.5", "86401", " 3"})
    launcher::testing::require_error(
        [&] { parse_timeout_setting(bad); }, ExitCode::usage,
        std::string("LAUNCHER_DOCKER_TIMEOUT: expected a whole number of seconds 0-86400 (0: no limit), found ") +
            launcher::quote_for_message(bad));
}

TEST_CASE("each call reaches the CLI with its limit", "[docker][timeout]") {
  launcher::testing::FakeDocker fake;
  fake.on({"ps"}, "");
  fake.on({"network"}, "");
  launcher::docker::Docker docker("docker", fake.runner());
  docker.try_run({"ps", "-a"});
  docker.try_run({"network", "create", "n"});
  launcher::docker::Docker configured("docker", fake.runner(), "7");
  configured.try_run({"ps", "-a"});
  REQUIRE(fake.timeouts().size() == 3);
  CHECK(fake.timeouts()[0] == seconds(30));
  CHECK(fake.timeouts()[1] == seconds(60));
  CHECK(fake.timeouts()[2] == seconds(7));
}

TEST_CASE("a call past its limit is one line naming the call and the variable that raises it", "[docker][timeout]") {
  auto docker = docker_answering({}, [] { throw launcher::process::TimedOut("docker network create x", seconds(30)); });
  launcher::testing::require_error(
      [&] {
        docker.run({"network", "create", "launcher-x"}, "create network launcher-x");
      },
      ExitCode::failed,
      "`docker network create launcher-x` timed out after 30 s (the engine does not answer); raise the limit with "
      "LAUNCHER_DOCKER_TIMEOUT=SECONDS (0: none)");
}

TEST_CASE("the CLI that cannot start is named with the real reason", "[docker][spawn]") {
  auto missing = docker_answering(
      {}, [] { throw launcher::process::SpawnFailed("failed to run docker: not found on PATH", ENOENT); });
  launcher::testing::require_error([&] { missing.try_run({"ps"}); }, ExitCode::failed,
                                   "the Docker CLI (docker) is not on PATH: install docker.io (Debian, Ubuntu) or "
                                   "Docker Engine, or name it with --docker");
  auto too_long = docker_answering({}, [] {
    throw launcher::process::SpawnFailed(
        "failed to run docker: argument list too long (3000000 bytes of arguments/environment)", E2BIG);
  });
  launcher::testing::require_error(
      [&] {
        too_long.try_run({"run", "-d"});
      },
      ExitCode::failed,
      "failed to run docker: argument list too long (3000000 bytes of "
      "arguments/environment) (the Docker CLI; --docker names another)");
  auto not_executable = docker_answering({}, [] {
    throw launcher::process::SpawnFailed("failed to run /tmp/d: /tmp/d is not executable (permission denied)", EACCES);
  });
  launcher::testing::require_error([&] { not_executable.try_run({"ps"}); }, ExitCode::failed,
                                   "failed to run /tmp/d: /tmp/d is not executable (permission denied) (the Docker "
                                   "CLI; --docker names another)");
}

// Rootless Podman 4.3's own words (tests/fixtures/podman/, recorded with `podman ... inspect nosuch`).
TEST_CASE("an absent container or image is no object under Docker's and Podman's messages", "[docker][podman]") {
  const std::string podman_fixtures = std::string(LAUNCHER_FIXTURES_DIR) + "/podman/";
  auto absent = [](std::string err) {
    return launcher::engine::DockerEngine(docker_answering({125, "", std::move(err)}));
  };
  CHECK_FALSE(
      absent(launcher::read_file(podman_fixtures + "container-inspect-missing.stderr")).inspect_container("nosuch"));
  CHECK_FALSE(absent(launcher::read_file(podman_fixtures + "image-inspect-missing.stderr")).inspect_image("nosuch:1"));
  CHECK_FALSE(absent("Error response from daemon: No such container: nosuch\n").inspect_container("nosuch"));
  CHECK_FALSE(absent("Error: No such object: nosuch:1\n").inspect_image("nosuch:1"));
  // "image not known" is an image's answer only; any other failure is still an error.
  launcher::testing::require_error([&] { absent("Error: nosuch: image not known\n").inspect_container("nosuch"); },
                                   ExitCode::failed, "failed to inspect container nosuch: nosuch: image not known");
}

TEST_CASE("a failure with no message says so instead of an empty cause", "[docker][messages]") {
  auto killed = docker_answering({130, "", ""});
  launcher::testing::require_error([&] { launcher::engine::DockerEngine(killed).inspect_container("rob-sig"); },
                                   ExitCode::failed,
                                   "failed to inspect container rob-sig: (no message from docker, exit 130)");
  launcher::testing::require_error(
      [&] {
        killed.run({"rm", "x"}, "remove x");
      },
      ExitCode::failed, "failed to remove x: (no message from docker, exit 130)");
  CHECK(explain_failure("stop x", "\n  \n") == "failed to stop x: (no message from docker)");
}

TEST_CASE("the engine's stderr is cut to its last lines and 2 KB, with the count of what was cut",
          "[docker][messages]") {
  using launcher::docker::stderr_tail;
  CHECK(stderr_tail("") == "");
  CHECK(stderr_tail("one\n") == "one");
  CHECK(stderr_tail("a\nb\n\nc\r\n") == "a | b | c");
  std::string many;
  for (int i = 1; i <= 12; ++i)
    many += "line " + std::to_string(i) + "\n";
  CHECK(stderr_tail(many) == "(… 7 earlier lines) line 8 | line 9 | line 10 | line 11 | line 12");
  // 50 MB on one line: its last 2 KB.
  std::string flood(50 * 1024 * 1024, 'x');
  flood += "the end\n";
  std::string cut = stderr_tail(flood);
  CHECK(cut.size() < 2200);
  CHECK(cut.starts_with("(cut to its last 2048 bytes) …"));
  CHECK(cut.ends_with("the end"));
  std::string message = explain_failure("start lab", flood);
  CHECK(message.size() < 2300);
}

TEST_CASE("control characters from the engine never reach a message raw", "[docker][messages]") {
  std::string hostile = "Error response from daemon: \x1b[2J\x1b]0;owned\x07 bad\rname \xc2\x9b"
                        "31m\n";
  std::string message = explain_failure("start lab", hostile);
  CHECK_FALSE(has_control_byte(message));
  CHECK(message == "failed to start lab: \\x1b[2J\\x1b]0;owned\\x07 bad\\x0dname \\u009b31m");
  auto docker = docker_answering({1, "", hostile});
  try {
    docker.run({"ps"}, "list containers");
    FAIL("no error");
  } catch (const launcher::Error& error) {
    CHECK_FALSE(has_control_byte(error.what()));
  }
  launcher::engine::DockerEngine logs(docker_answering({0, "line one\n\x1b[31mred\n", ""}));
  CHECK(logs.logs_tail("x", 40) == "line one\n\\x1b[31mred\n");
}
