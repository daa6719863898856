#include <algorithm>

#include <catch2/catch.hpp>

#include "doctor/checks.hpp"
#include "doctor_fixtures.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::doctor::CheckResult;
using launcher::doctor::Status;
using launcher::testing::require_error;

namespace {

const std::string cpu_image = "pytorch-cpu:1.13.0a0-debian12";
const std::string tcp_fallback = "NCCL falls back to TCP sockets, up to ~40x slower";
const std::string two_hdr_ports =
    "mlx5_0 port 1 ACTIVE 200 Gb/sec (InfiniBand), mlx5_1 port 1 ACTIVE 200 Gb/sec (InfiniBand)";

doctor::Subject cpu_subject(const std::string& image = cpu_image) {
  doctor::Subject subject;
  subject.image = image;
  subject.shm_size_bytes = 8ULL << 30;
  return subject;
}

struct Examined {
  std::optional<CheckResult> result;
  std::vector<std::string> asked;
  doctor::HostSnapshot snapshot;
};

Examined examine(const std::vector<std::string>& folders, const doctor::Subject& subject = cpu_subject()) {
  testing::FixtureFacts facts(folders);
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
  return {doctor::infiniband_check(snapshot), facts.asked, snapshot};
}

bool asked(const Examined& examined, const std::string& name) {
  return std::find(examined.asked.begin(), examined.asked.end(), name) != examined.asked.end();
}

} // namespace

TEST_CASE("a host without InfiniBand says so, as information, and starts no container of the image",
          "[doctor][infiniband]") {
  Examined none = examine({"infiniband/none", "docker/image-cpu-without-rdma"});
  REQUIRE(none.result);
  CHECK(*none.result ==
        CheckResult{"infiniband", Status::ok, "no InfiniBand devices: jobs across nodes talk over TCP sockets", ""});
  CHECK(!asked(none, "docker-image-packages.json"));
  auto full = doctor::doctor_checks(cpu_subject(), none.snapshot, matrix::embedded_matrix());
  CHECK(std::count_if(full.begin(), full.end(), [](const CheckResult& r) { return r.id == "infiniband"; }) == 1);
}

TEST_CASE("facts that do not hold /sys/class/infiniband give no infiniband row", "[doctor][infiniband]") {
  Examined old = examine({"gpu/h100-80gb-hbm3", "docker/image-cu126-labels"});
  CHECK(!old.result);
  auto full = doctor::doctor_checks(cpu_subject(), old.snapshot, matrix::embedded_matrix());
  CHECK(std::none_of(full.begin(), full.end(), [](const CheckResult& r) { return r.id == "infiniband"; }));
}

TEST_CASE("an InfiniBand host and an image with rdma-core's libraries: OK with both", "[doctor][infiniband]") {
  Examined ready = examine({"infiniband/mlx5-hdr-active", "docker/image-cpu-with-rdma"});
  REQUIRE(ready.result);
  CHECK(*ready.result ==
        CheckResult{"infiniband", Status::ok, two_hdr_ports + "; the image has rdma-core 44.0 libs", ""});
  CHECK(asked(ready, "docker-image-packages.json"));
  nlohmann::json facts = doctor::to_json(ready.snapshot)["infiniband"];
  CHECK(facts["ports"][0] == nlohmann::json{{"device", "mlx5_0"},
                                            {"port", "1"},
                                            {"state", "ACTIVE"},
                                            {"rate", "200 Gb/sec (4X HDR)"},
                                            {"link_layer", "InfiniBand"}});
  CHECK(facts["device_nodes"].size() == 7);
  CHECK(facts["image"]["rdma_core"] == "44.0");
  CHECK(facts["image"]["missing"].empty());
}

TEST_CASE("an InfiniBand host and an image without the libraries warns of the TCP fallback", "[doctor][infiniband]") {
  // The CPU image before rdma-core was added: torch's dependencies bring libibverbs1 alone.
  Examined lacking = examine({"infiniband/mlx5-hdr-active", "docker/image-cpu-without-rdma"});
  REQUIRE(lacking.result);
  CHECK(*lacking.result ==
        CheckResult{"infiniband", Status::warn,
                    two_hdr_ports + "; " + cpu_image + " lacks ibverbs-providers, librdmacm1: " + tcp_fallback,
                    "rebuild the image with `launcher build` (its Dockerfile installs rdma-core's libraries), or "
                    "install libibverbs1 ibverbs-providers librdmacm1 in it"});
}

TEST_CASE("an image that cannot say what it holds, or that the engine lacks, is named with the reason",
          "[doctor][infiniband]") {
  Examined unrecorded =
      examine({"infiniband/mlx5-hdr-active", "docker/image-without-package-record", "docker/image-cpu-without-rdma"});
  REQUIRE(unrecorded.result);
  CHECK(*unrecorded.result ==
        CheckResult{"infiniband", Status::warn,
                    two_hdr_ports + "; cannot tell whether " + cpu_image +
                        " has rdma-core's libraries: cat: /usr/local/share/launcher/packages.json: No such file or "
                        "directory",
                    "use an image the launcher built (its build records its packages), with libibverbs1, "
                    "ibverbs-providers and librdmacm1 in it"});
  // No docker-image-labels.json recorded: the engine does not have the image, which is never pulled.
  Examined absent = examine({"infiniband/mlx5-hdr-active"});
  REQUIRE(absent.result);
  CHECK(*absent.result == CheckResult{"infiniband", Status::warn,
                                      two_hdr_ports + "; cannot tell whether " + cpu_image +
                                          " has rdma-core's libraries: the engine lacks it",
                                      "pull or build the image, then run doctor again"});
  CHECK(!asked(absent, "docker-image-packages.json"));
}

TEST_CASE("a port that is down or a missing verbs device warns before the image is asked", "[doctor][infiniband]") {
  Examined down = examine({"infiniband/mlx5-port-down", "docker/image-cpu-with-rdma"});
  REQUIRE(down.result);
  CHECK(*down.result == CheckResult{"infiniband", Status::warn,
                                    "mlx5_0 port 1 DOWN 10 Gb/sec (InfiniBand); no port is ACTIVE: " + tcp_fallback,
                                    "check the link and the subnet manager (ibstat shows each port's state)"});
  Examined no_verbs = examine({"infiniband/mlx5-no-uverbs", "docker/image-cpu-with-rdma"});
  REQUIRE(no_verbs.result);
  CHECK(*no_verbs.result ==
        CheckResult{"infiniband", Status::warn,
                    "mlx5_0 port 1 ACTIVE 100 Gb/sec (InfiniBand); /dev/infiniband has no uverbs device, so no "
                    "container can use them: " +
                        tcp_fallback,
                    "load the verbs module (modprobe ib_uverbs; rdma_ucm for /dev/infiniband/rdma_cm)"});
}

TEST_CASE("a RoCE port is reported with its Ethernet link layer", "[doctor][infiniband]") {
  Examined roce = examine({"infiniband/mlx5-roce", "docker/image-cpu-with-rdma"});
  REQUIRE(roce.result);
  CHECK(*roce.result == CheckResult{"infiniband", Status::ok,
                                    "mlx5_0 port 1 ACTIVE 100 Gb/sec (Ethernet); the image has rdma-core 44.0 libs",
                                    ""});
}

TEST_CASE("a device name that would leave /sys/class/infiniband is refused, never followed", "[doctor][infiniband]") {
  Examined hostile = examine({"infiniband/hostile-device-name", "docker/image-cpu-with-rdma"});
  REQUIRE(hostile.result);
  CHECK(*hostile.result ==
        CheckResult{"infiniband", Status::warn,
                    "cannot tell the host's InfiniBand devices: /sys/class/infiniband lists \"../../../etc\", not a "
                    "device name",
                    "run ibv_devinfo to see what the host has"});
  CHECK(std::none_of(hostile.asked.begin(), hostile.asked.end(),
                     [](const std::string& name) { return name.find("etc") != std::string::npos; }));
  facts::MemoryFactSource memory;
  facts::HostQueries queries(memory, launcher::testing::replay_engine());
  require_error([&] { queries.rdma_ports(".."); }, ExitCode::failed,
                "refusing the RDMA device name \"..\": not a plain directory entry name");
  require_error([&] { queries.rdma_port_attribute("mlx5_0", "1/../../x", "state"); }, ExitCode::failed,
                "refusing the RDMA port name \"1/../../x\": not a plain directory entry name");
}

TEST_CASE("an unreadable port attribute is named", "[doctor][infiniband]") {
  facts::MemoryFactSource memory;
  memory.answers["sys-class-infiniband.txt"] = {true, 0, "mlx5_0\n", ""};
  memory.answers["dev-infiniband.txt"] = {true, 0, "uverbs0\n", ""};
  memory.answers["sys-class-infiniband-mlx5_0-ports.txt"] = {true, 0, "1\n", ""};
  memory.answers["sys-class-infiniband-mlx5_0-ports-1-state.txt"] = {true, 0, "4: ACTIVE\n", ""};
  memory.answers["sys-class-infiniband-mlx5_0-ports-1-rate.txt"] = {
      true, 1, "", "/sys/class/infiniband/mlx5_0/ports/1/rate: Invalid argument"};
  facts::HostQueries queries(memory, launcher::testing::replay_engine());
  doctor::InfinibandFacts facts = doctor::gather_infiniband_facts(queries);
  CHECK(facts.problem ==
        "cannot read /sys/class/infiniband/mlx5_0/ports/1/rate: /sys/class/infiniband/mlx5_0/ports/1/rate: Invalid "
        "argument");
  memory.answers.erase("sys-class-infiniband-mlx5_0-ports-1-rate.txt");
  CHECK(doctor::gather_infiniband_facts(queries).problem ==
        "cannot read /sys/class/infiniband/mlx5_0/ports/1/rate: not recorded");
}

TEST_CASE("the image's package record is read by package, and a malformed one is named", "[doctor][infiniband]") {
  auto read = [](const std::string& text) { return doctor::parse_image_rdma({true, 0, text, ""}); };
  doctor::ImageRdma epoch =
      read(R"({"debian": {"libibverbs1": "1:50.0-2ubuntu0.2", "ibverbs-providers": "x", "librdmacm1": "x"}})");
  CHECK(epoch.read);
  CHECK(epoch.version == "50.0");
  CHECK(epoch.missing.empty());
  doctor::ImageRdma none = read(R"({"debian": {}, "python": {}})");
  CHECK(none.version.empty());
  CHECK(none.missing == std::vector<std::string>{"libibverbs1", "ibverbs-providers", "librdmacm1"});
  doctor::ImageRdma garbage = read("[1, 2]");
  CHECK(!garbage.read);
  CHECK(garbage.problem.find("the image's package record") != std::string::npos);
  doctor::ImageRdma wrong_type = read(R"({"debian": {"libibverbs1": 44}})");
  CHECK(!wrong_type.read);
  CHECK(wrong_type.problem.find("/debian/libibverbs1") != std::string::npos);
  doctor::ImageRdma failed = doctor::parse_image_rdma({true, 125, "", ""});
  CHECK(failed.problem == "reading its package record failed (exit 125)");
}
