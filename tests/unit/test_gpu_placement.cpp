#include <fstream>
#include <sstream>
#include <type_traits>

#include <catch2/catch.hpp>

#include "commands/profile_request.hpp"
#include "core/cpu_list.hpp"
#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "fake_clock.hpp"
#include "fake_docker.hpp"
#include "gpu/placement.hpp"
#include "gpu/topology.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::FixtureFacts;
using launcher::testing::require_error;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A GPU host replayed from a fixture, with its own GPU table and these envs' container labels.
struct ReplayedHost {
  TempDir dir;
  FixtureFacts facts;
  facts::HostQueries queries;
  std::map<std::string, gpu::LabelledGpus> labels;
  launcher::testing::FakeClock clock;
  std::ostringstream progress;

  explicit ReplayedHost(const std::string& folder)
      : facts({folder}), queries(facts, launcher::testing::replay_engine()) {}

  gpu::PlacementContext context() {
    return {gpu::GpuHolder{"", 1000, "alice", 4100},
            dir.path / "gpus.json",
            {[](const std::string&) { return true; }, [](long) { return true; }},
            [this] { return labels; },
            &clock,
            gpu::default_lease_grace,
            &progress};
  }
  fs::path table() const { return dir.path / "gpus.json"; }
};

} // namespace

TEST_CASE("CPU lists parse and print in the kernel's syntax", "[core][cpu_list]") {
  CHECK(parse_cpu_list("0-3,8,10-11") == CpuList{0, 1, 2, 3, 8, 10, 11});
  CHECK(format_cpu_list({0, 1, 2, 3, 8, 10, 11}) == "0-3,8,10-11");
  CHECK(format_cpu_list({5}) == "5");
  CHECK(format_cpu_list({}) == "");
  for (const char* bad : {"", ",", "3-1", "a", "1-", "-1", "0-65536", "1,,2", " 1"}) {
    INFO(bad);
    CHECK_FALSE(parse_cpu_list(bad));
  }
}

TEST_CASE("nvidia-smi topo -m gives each GPU's CPU and NUMA affinity", "[gpu][topology]") {
  auto one =
      gpu::parse_topology_matrix(read_file(launcher::testing::fixture("gpu/h100-80gb-hbm3/nvidia-smi-topo-m.txt")));
  REQUIRE(one.size() == 1);
  CHECK(one.at(0) == gpu::GpuAffinity{parse_cpu_list("0-15"), CpuList{0}});

  auto eight =
      gpu::parse_topology_matrix(read_file(launcher::testing::fixture("gpu/8x-h100-two-socket/nvidia-smi-topo-m.txt")));
  REQUIRE(eight.size() == 8); // NIC rows are not GPUs
  CHECK(eight.at(3) == gpu::GpuAffinity{parse_cpu_list("0-47,96-143"), CpuList{0}});
  CHECK(eight.at(4) == gpu::GpuAffinity{parse_cpu_list("48-95,144-191"), CpuList{1}});

  // A VM without NUMA information says N/A.
  auto unknown = gpu::parse_topology_matrix("\tGPU0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \tN/A\tN/A\n");
  CHECK(unknown.at(0) == gpu::GpuAffinity{});
}

TEST_CASE("an unreadable topology table is an error naming what is wrong", "[gpu][topology]") {
  require_error([] { gpu::parse_topology_matrix("GPU0\t X\n"); }, ExitCode::failed,
                "cannot read `nvidia-smi topo -m`: no \"CPU Affinity\" column");
  require_error([] { gpu::parse_topology_matrix("\tGPU0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \t0-x\t0\n"); },
                ExitCode::failed,
                "cannot read `nvidia-smi topo -m`: GPU0's CPU Affinity is \"0-x\", not a list like 0-15,32-47");
  require_error([] { gpu::parse_topology_matrix("\tGPU0\tCPU Affinity\tNUMA Affinity\nGPU0\t X \n"); },
                ExitCode::failed, "cannot read `nvidia-smi topo -m`: GPU0's row has too few cells");
  require_error([] { gpu::parse_topology_matrix("\tGPU0\tCPU Affinity\n\n"); }, ExitCode::failed,
                "cannot read `nvidia-smi topo -m`: no GPU rows");
}

TEST_CASE("a previewed choice tells the GPUs and their NUMA node and writes nothing", "[gpu][placement]") {
  ReplayedHost host("gpu/8x-h100-two-socket");
  host.labels = {{"bob-train", {"0,2", true}}};
  gpu::HostGpus gpus(host.queries, host.context(), gpu::Reservation::preview);
  auto placed = gpus.choose("alice-dev", 2);
  REQUIRE(placed.size() == 2);
  // 0 and 2 are bob's, 1 is busy (least memory used first): 3, then 4 on the other socket.
  CHECK(placed[0].device == "3");
  CHECK(placed[0].description == "GPU 3 (00000000:5D:00.0)");
  CHECK(placed[0].cpus == "0-47,96-143");
  CHECK(placed[0].numa_nodes == "0");
  CHECK(placed[1].device == "4");
  CHECK(placed[1].cpus == "48-95,144-191");
  CHECK(placed[1].numa_nodes == "1");
  CHECK(gpus.topology_source() == "nvidia-smi topo -m");
  CHECK(read_file(host.table()).empty());
}

TEST_CASE("a recorded choice is the previewed one, and is kept by the env", "[gpu][placement]") {
  ReplayedHost host("gpu/8x-h100-two-socket");
  gpu::HostGpus preview(host.queries, host.context(), gpu::Reservation::preview);
  gpu::HostGpus record(host.queries, host.context(), gpu::Reservation::record);
  auto told = preview.choose("alice-dev", 2);
  auto taken = record.choose("alice-dev", 2);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].device == told[0].device);
  CHECK(taken[1].device == told[1].device);
  CHECK(read_file(host.table()).find("alice-dev") != std::string::npos);
  // Another env now previews other GPUs; alice's next preview shows her own again.
  CHECK(preview.choose("bob-train", 1).at(0).device != taken[0].device);
  CHECK(preview.choose("alice-dev", 2).at(1).device == taken[1].device);
}

TEST_CASE("named GPUs are checked and placed, and only a recording claim is written", "[gpu][placement]") {
  ReplayedHost host("gpu/8x-h100-two-socket");
  gpu::HostGpus preview(host.queries, host.context(), gpu::Reservation::preview);
  auto placed = preview.claim("alice-dev", {"5", "GPU-5a1c0006-0000-0000-0000-00007f70b29b"});
  REQUIRE(placed.size() == 2);
  CHECK(placed[0].device == "5");
  CHECK(placed[0].numa_nodes == "1");
  CHECK(placed[1].description == "GPU 6 (00000000:BA:00.0)");
  CHECK_FALSE(fs::exists(host.table()));
  require_error([&] { preview.claim("alice-dev", {"9"}); }, ExitCode::host_incapable,
                "GPU 9 is not on this host, which has "
                "GPU 0 NVIDIA H100 80GB HBM3 (GPU-5a1c0000-0000-0000-0000-00001234abcd), "
                "GPU 1 NVIDIA H100 80GB HBM3 (GPU-5a1c0001-0000-0000-0000-00002469579a), "
                "GPU 2 NVIDIA H100 80GB HBM3 (GPU-5a1c0002-0000-0000-0000-0000369e0367), "
                "GPU 3 NVIDIA H100 80GB HBM3 (GPU-5a1c0003-0000-0000-0000-000048d2af34), "
                "GPU 4 NVIDIA H100 80GB HBM3 (GPU-5a1c0004-0000-0000-0000-00005b075b01), "
                "GPU 5 NVIDIA H100 80GB HBM3 (GPU-5a1c0005-0000-0000-0000-00006d3c06ce), "
                "GPU 6 NVIDIA H100 80GB HBM3 (GPU-5a1c0006-0000-0000-0000-00007f70b29b), "
                "GPU 7 NVIDIA H100 80GB HBM3 (GPU-5a1c0007-0000-0000-0000-000091a55e68)");
  gpu::HostGpus record(host.queries, host.context(), gpu::Reservation::record);
  record.claim("alice-dev", {"5"});
  CHECK(read_file(host.table()).find("alice-dev") != std::string::npos);
}

TEST_CASE("a host whose topology is unknown places GPUs without affinity and says why", "[gpu][placement]") {
  ReplayedHost host("gpu/4x-a100-sxm4-80gb-driver-550"); // recorded without topo -m
  gpu::HostGpus gpus(host.queries, host.context(), gpu::Reservation::preview);
  auto placed = gpus.choose("alice-dev", 1);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].cpus.empty());
  CHECK(placed[0].numa_nodes.empty());
  CHECK(gpus.topology_source() == "`nvidia-smi topo -m` was not recorded");
}

TEST_CASE("named GPUs pass through a preview on a host without GPUs, and are refused by up there", "[gpu][placement]") {
  ReplayedHost host("gpu/no-driver");
  gpu::HostGpus preview(host.queries, host.context(), gpu::Reservation::preview);
  auto placed = preview.claim("alice-dev", {"0", "1"});
  REQUIRE(placed.size() == 2);
  CHECK(placed[1].device == "1");
  CHECK(placed[1].cpus.empty());
  gpu::HostGpus record(host.queries, host.context(), gpu::Reservation::record);
  CHECK_THROWS_AS(record.claim("alice-dev", {"0"}), Error);
}

TEST_CASE("a GPU holder's running container is asked of Docker by label, and no answer counts as running",
          "[gpu][lock][docker]") {
  launcher::testing::FakeDocker fake;
  fake.on({"ps", "-q", "--filter", "label=io.launcher.env=alive"}, "c0ffee\n");
  fake.on({"ps", "-q", "--filter", "label=io.launcher.env=stopped"}, "");
  fake.on({"ps"}, "", 1, "Cannot connect to the Docker daemon");
  engine::DockerEngine engine(docker::Docker("docker", fake.runner()));
  gpu::HolderProbe probe = gpu::live_holder_probe(engine);
  CHECK(probe.container_running("alive"));
  CHECK_FALSE(probe.container_running("stopped"));
  CHECK(probe.container_running("unknown")); // better refuse than share a GPU
  CHECK(fake.calls().size() == 3);
}

namespace {

template <class E>
concept probes_holders_of = requires(E&& engine) {
  gpu::live_holder_probe(std::forward<E>(engine));
};
template <class E>
concept places_with = requires(E&& engine, const Clock& clock, std::ostream& progress) {
  gpu::live_placement_context("alice", 1000, "/run/launcher/gpus.json", std::forward<E>(engine), clock, progress);
};

} // namespace

TEST_CASE("what keeps a reference to the engine takes no temporary one, and a GPU source stays where it was made",
          "[gpu][placement][engine]") {
  STATIC_REQUIRE(probes_holders_of<const engine::Engine&>);
  STATIC_REQUIRE_FALSE(probes_holders_of<engine::DockerEngine>);
  STATIC_REQUIRE(places_with<engine::DockerEngine&>);
  STATIC_REQUIRE_FALSE(places_with<engine::DockerEngine>);
  STATIC_REQUIRE(std::is_constructible_v<facts::HostQueries, facts::FactSource&, const engine::Engine&>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<facts::HostQueries, facts::FactSource&, engine::DockerEngine>);
  // Its queries and GPUs refer to its engine and to each other.
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<commands::HostGpuSource>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<commands::HostGpuSource>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<commands::HostGpuSource>);
}

TEST_CASE("a stopped env's GPUs are free for others, and its own up takes them again while they are free",
          "[gpu][placement]") {
  ReplayedHost host("gpu/8x-h100-two-socket");
  host.labels = {{"bob-train", {"0", false}}, {"alice-dev", {"6", false}}};
  gpu::HostGpus preview(host.queries, host.context(), gpu::Reservation::preview);
  CHECK(preview.choose("alice-dev", 1).at(0).device == "6");
  CHECK(preview.choose("carol-dev", 1).at(0).device == "0");
  host.labels["bob-train"] = {"6", true}; // bob's env now runs on GPU 6
  CHECK(preview.choose("alice-dev", 1).at(0).device == "0");
  CHECK(gpu::holds_gpus("running"));
  CHECK(gpu::holds_gpus("paused"));
  CHECK(gpu::holds_gpus("restarting"));
  CHECK_FALSE(gpu::holds_gpus("exited"));
  CHECK_FALSE(gpu::holds_gpus("created"));
  CHECK_FALSE(gpu::holds_gpus("dead"));
}
