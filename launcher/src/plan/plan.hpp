#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/gpu_runtime.hpp"
#include "plan/choices.hpp"

namespace launcher::plan {

struct PortBinding {
  std::string bind;             // host address, 127.0.0.1 unless the profile says otherwise
  std::optional<int> host_port; // nullopt: Docker picks a free one ("auto")
  int container_port = 0;
  Protocol protocol = Protocol::tcp;
};

struct Mount {
  std::string source; // absolute host path
  std::string target; // absolute container path
  bool read_only = false;
};

struct Ulimit {
  std::string name;
  long long soft = 0;
  long long hard = 0; // -1 is unlimited
};

struct GpuAssignment {
  enum class Kind { none, all, devices };
  Kind kind = Kind::none;
  std::vector<std::string> devices;
};

struct User {
  unsigned uid = 0;
  unsigned gid = 0;
  std::string name;
  bool sudo = false; // passwordless sudo inside, only when the profile asks
};

// What sshd lets a logged-in client hand over besides TCP ports (which VS Code needs): each is
// reachable by every process of the user inside, so all are off unless the profile asks.
struct SshForwarding {
  bool agent = false;        // AllowAgentForwarding
  bool stream_local = false; // AllowStreamLocalForwarding: Unix sockets
  bool user_rc = false;      // PermitUserRC: ~/.ssh/rc runs at each login
};

// How the service authenticates; the secrets themselves live in `secrets_dir`, never here.
struct Access {
  std::string secrets_dir; // host directory mounted read-only under a root-only one
  // nullopt (the plan JSON's "") without a secrets directory: a shell or command env without a backup.
  std::optional<JupyterAuth> jupyter_auth;
  std::vector<std::string> authorized_keys; // public key files or literal keys; empty: ~/.ssh/*.pub
  bool ssh_password = false;                // password login next to keys (off by default)
  SshForwarding ssh_forwarding;
};

// When the env stops itself: launcher-init watches inside and stops it (the container stays, so
// `up` starts it again with its files).
struct SelfStop {
  std::optional<long long> idle_seconds;    // nothing in use this long; nullopt: never for want of use
  int idle_gpu_util_below = 5;              // percent: a GPU at or above it is in use
  std::optional<long long> max_age_seconds; // this long after the start; nullopt: never
};

// Profile key "backup": launcher-init keeps versions of `paths` in `repository`. The keys come
// from the host's AWS credentials file into the secrets directory, never into the plan.
struct Backup {
  std::string repository; // "s3://BUCKET/PREFIX/ENV": the profile's "to" and the env's name
  std::vector<std::string> paths;
  long long every_seconds = 1800;
  int keep = 5;
  std::string endpoint;            // empty: AWS's own
  std::string credentials_profile; // the AWS profile the profile names; empty: AWS_PROFILE, else "default"
};

// Everything `up` needs, fully decided: nothing here depends on the host any more.
struct Plan {
  std::string env; // environment name, also the container name
  std::string profile;
  std::string image;
  Service service = Service::shell;
  std::vector<std::string> command;
  GpuAssignment gpus;
  host::GpuRuntime gpu_runtime = host::GpuRuntime::nvidia; // how the GPUs reach it; nvidia without GPUs
  std::vector<PortBinding> ports;
  std::vector<Mount> mounts;
  std::vector<std::string> create_directories; // host directories `up` makes before starting
  std::map<std::string, std::string> environment;
  std::string workdir; // empty: the image's
  User user;
  Access access;
  std::uint64_t shm_size_bytes = 0;
  Ipc ipc = Ipc::engine_default;
  std::vector<Ulimit> ulimits;
  std::optional<double> cpus;
  std::optional<std::uint64_t> memory_bytes; // also the memory+swap limit: no swap beyond it; nullopt: unlimited
  long long cpu_shares = 1024;               // relative CPU weight under contention
  std::string cpuset_cpus;                   // CPU list; empty: any CPU
  std::string cpuset_mems;                   // NUMA node list; empty: any node
  std::optional<long long> pids_limit;
  Restart restart;
  std::map<std::string, std::string> labels;
  bool privileged = false;
  // The image's filesystem read-only; /tmp, /run and /home are tmpfs, the volumes stay writable.
  bool read_only_root = false;
  // The Docker network: the env's own (own_network(env), no traffic between containers) unless
  // the profile names one to share with other envs.
  std::string network;
  SelfStop self_stop;
  std::optional<Backup> backup;
};

inline std::string own_network(const std::string& env) { return "launcher-" + env; }

nlohmann::json to_json(const Plan& plan);

// SHA-256 of the plan's canonical JSON: equal plans, equal containers.
std::string plan_hash(const Plan& plan);

} // namespace launcher::plan
