#include <catch2/catch.hpp>

#include "docker/docker.hpp"

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
        "failed to stop lab: something new");
  CHECK_FALSE(is_missing_gpu_runtime("Error response from daemon: No such container: lab"));
  // Recorded on the CI host once leaked networks had taken Docker's 31 default ranges.
  CHECK(explain_failure("create network launcher-lab",
                        "Error response from daemon: could not find an available, non-overlapping IPv4 address pool "
                        "among the defaults to assign to the network\n") ==
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
