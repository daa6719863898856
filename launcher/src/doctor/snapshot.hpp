#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/infiniband.hpp"
#include "facts/facts.hpp"
#include "gpu/inventory.hpp"
#include "gpu/topology.hpp"
#include "host/gpu_runtime.hpp"
#include "matrix/matrix.hpp"
#include "plan/plan.hpp"

namespace launcher::doctor {

// What the checks look at: the image, GPUs, /dev/shm and ports of a plan or of a running container.
struct Subject {
  std::string image;
  plan::GpuAssignment gpus;
  std::uint64_t shm_size_bytes = 0;
  std::optional<std::uint64_t> memory_bytes; // the memory limit, which counts /dev/shm
  plan::Ipc ipc = plan::Ipc::engine_default;
  bool publishes_on_loopback = false;
  std::string container; // `doctor ENV`: the container examined; empty for a plan
  host::GpuRuntime gpu_runtime = host::GpuRuntime::nvidia;
  // The resource limits it asks of the engine, as the engine's options ("--memory 8g", "--pids-limit 4096").
  std::vector<std::string> limits;
};

Subject subject_of(const plan::Plan& plan);

// From `docker container inspect --format '{{json .}}'`; a missing or malformed field is an Error naming it.
Subject subject_of_container(const std::string& container, const nlohmann::json& inspect);

struct DockerFacts {
  enum class Reach { reachable, daemon_down, permission_denied, cli_missing, failed, not_recorded };
  // Which engine answered: Podman's `version` has no Server and its `info` has its own shape.
  enum class Product { docker_engine, podman };
  Reach reach = Reach::not_recorded;
  Product product = Product::docker_engine;
  std::string error; // the CLI's first error line when not reachable
  std::string client_version;
  std::string server_version;
  std::vector<std::string> runtimes; // empty unless docker info was asked
  std::string cgroup_version;
  bool rootless = false; // Podman's host.security.rootless
  std::string storage_driver;
  std::string root_dir;
  std::string overlay_mount_program; // Podman's: the FUSE program mounting its overlay ("": the kernel)
  // Podman's storage chose fuse-overlayfs itself, where storage.conf names no program (the store's
  // overlay/.has-mount-program says "true"; `podman info` does not show it).
  bool overlay_mount_program_by_storage = false;
  std::vector<std::string> cdi_devices; // DiscoveredDevices from the "cdi" source (Docker 28.2 and later)
  // CDISpecDirs (Engine 25 and later): empty when the daemon has CDI off; nullopt when it does not say.
  std::optional<std::vector<std::string>> cdi_spec_dirs;
};

// "Docker Engine" or "Podman": how messages name the engine that answered.
std::string product_name(DockerFacts::Product product);

// From `docker version` and/or `docker info` (either answers reachability and versions), or
// Podman's answers to the same commands.
DockerFacts parse_docker_facts(const facts::Fact* version, const facts::Fact* info);

struct ToolkitFacts {
  bool recorded = false;
  bool nvidia_runtime = false;        // "nvidia" in docker info's Runtimes
  std::vector<std::string> cdi_specs; // NVIDIA CDI specs in /etc/cdi, /var/run/cdi
  std::string cli_version;            // first line of `nvidia-container-cli --version`
};

ToolkitFacts parse_toolkit_facts(const DockerFacts& docker, const facts::Fact& cdi_specs,
                                 const facts::Fact& cli_version);

// What the CDI specs offer, asked only for GPUs that go through CDI.
struct CdiFacts {
  std::vector<std::string> listed; // the devices defined, by the engine or by nvidia-ctk
  std::string listed_by;           // "docker info" or "nvidia-ctk cdi list"; empty: neither said
  std::string list_problem;        // why nvidia-ctk did not list them
  struct Spec {
    std::string path;
    std::string driver_version; // the driver it was generated for; empty: it does not say
    std::string problem;        // why it could not be read
  };
  std::vector<Spec> specs; // the NVIDIA specs ToolkitFacts found
};

// From what the engine discovered (preferred: it is what `--device` resolves against) or, when it
// lists none, `nvidia-ctk cdi list`; and each spec file's text, by path.
CdiFacts parse_cdi_facts(const DockerFacts& docker, const facts::Fact* cdi_list,
                         const std::vector<std::pair<std::string, facts::Fact>>& spec_files);

struct ImageFacts {
  enum class Origin { labels, matrix, unknown };
  std::string ref;
  Origin origin = Origin::unknown;
  bool present = false; // the engine has it locally
  matrix::Row spec;     // what it was built with; meaningful unless origin is unknown
  std::string row_tag;  // the matrix tag it matched, for origin matrix
  std::string problem;  // why its labels could not be read, naming the field

  bool is_cuda() const { return origin != Origin::unknown && !spec.is_cpu(); }
};

// From the io.launcher.* labels of `docker image inspect`, else the matrix row of its tag.
ImageFacts parse_image_facts(const std::string& ref, const facts::Fact& labels, const matrix::Matrix& matrix);

struct ContainerFacts {
  std::string name;
  bool exists = false;
  bool running = false;
  std::string status;   // "running", "exited", ...
  facts::Fact gpu_list; // `docker exec <name> nvidia-smi -L`, asked only of a running container with GPUs
  std::string problem;  // why `docker container inspect` could not be read, naming the field
};

struct HostSnapshot {
  gpu::GpuInventory gpus;
  std::optional<gpu::GpuTopology> topology; // asked by `doctor` only, on a host with GPUs
  std::optional<DockerFacts> docker;        // not asked by a pre-flight that needs no Docker facts
  ToolkitFacts toolkit;
  std::optional<ImageFacts> image;
  std::optional<ContainerFacts> container;
  std::optional<InfinibandFacts> infiniband; // asked by `doctor` only
  std::optional<CdiFacts> cdi;               // asked for a subject whose GPUs go through CDI
};

bool requests_gpus(const Subject& subject);

// Everything `doctor` looks at, for a plan's subject.
HostSnapshot gather_doctor_facts(facts::HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix);

// `doctor ENV`: the container's own subject and facts; when the container does not exist the
// subject is empty and only host-wide facts are gathered.
std::pair<Subject, HostSnapshot> gather_container_facts(facts::HostQueries& queries, const std::string& container,
                                                        const matrix::Matrix& matrix);

// Only what the pre-flight checks of this subject need, to keep `up` fast: nothing for a
// plan without GPUs or loopback ports; one `docker version` for loopback ports alone; one
// `info` for the limits of an engine that may ignore them (`engine_may_ignore_limits`: Podman,
// whose info says whether it runs rootless on cgroup v1).
HostSnapshot gather_preflight_facts(facts::HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix,
                                    bool engine_may_ignore_limits = false);

nlohmann::json to_json(const HostSnapshot& snapshot);

} // namespace launcher::doctor
