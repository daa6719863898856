#include "plan/resolve.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/bytes.hpp"
#include "core/cpu_list.hpp"
#include "core/env_name.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "host/state_layout.hpp"
#include "launcher_contract/contract.hpp"
#include "matrix/matrix.hpp"
#include "profile/catalog.hpp"
#include "profile/gpu_request.hpp"
#include "profile/schema.hpp"
#include "profile/trust.hpp"

namespace launcher::plan {

namespace fs = std::filesystem;
using nlohmann::json;
using profile::child_pointer;
using profile::Sourced;

namespace {

constexpr std::uint64_t gib = 1ULL << 30;

// Half the memory /dev/shm may take (DataLoader workers pass batches through it; Docker's 64 MB
// kills them), in whole GiB once that is at least one.
std::uint64_t default_shm_size(std::uint64_t memory) {
  std::uint64_t half = memory / 2;
  return half >= gib ? half / gib * gib : half;
}

bool is_unspecified(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

// What "user": "host" voids when the launcher runs as root and sudo names no other user.
std::string root_by_default_warning(const profile::Origin& origin) {
  return "the env's user is root (the launcher runs as root, with no SUDO_UID of another user, and \"user\" is "
         "\"host\", " +
         origin.describe() +
         "): code in the env runs as root and reads every file of its mounts and the env's own secrets, whatever "
         "their mode, and what it writes to mounted host directories belongs to root; run the launcher as "
         "yourself or through sudo, or set \"user\": \"root\" in a profile (or --user root) to mean it";
}

// Linux's NAME_MAX: no directory entry is longer, so "create" could never make such a path.
constexpr std::size_t max_file_name_bytes = 255;

// Whether `path` lies strictly inside `directory` (both absolute and normal).
bool is_inside(const std::string& path, const std::string& directory) {
  if (directory == "/") return path != "/";
  return path.size() > directory.size() && starts_with(path, directory) && path[directory.size()] == '/';
}

// Host places a volume may neither be nor contain nor lie inside without the named opt-in: each
// gives the container the host (its configuration, the kernel's interfaces, its devices, the
// engine's data, the engine's socket). "/" itself is "mount-root".
struct GuardedPlace {
  const char* path;
  const char* what;
  const char* opt_in;
  const char* except = nullptr; // a child of it that holds none of that
};

const std::vector<GuardedPlace>& guarded_host_places() {
  static const std::vector<GuardedPlace> places{
      {"/etc", "the host's configuration", "mount-etc"},
      {"/proc", "the kernel's view of every process", "mount-system"},
      {"/sys", "the kernel's devices and settings", "mount-system"},
      {"/dev", "the host's devices", "mount-system"},
      {"/boot", "the host's kernels and boot loader", "mount-system"},
      {"/var/lib/docker", "Docker's data: every container's files", "mount-docker-data"},
      // The engine's socket's directory, and the other engines' and rootless Docker's
      // ($XDG_RUNTIME_DIR); removable drives mounted under /run/media hold only files.
      {"/run", "which holds the Docker socket", "mount-docker-socket", "media"},
      {"/var/run", "which holds the Docker socket", "mount-docker-socket", "media"},
  };
  return places;
}

class Resolver {
public:
  Resolver(const Sourced& profile, const host::HostFacts& host, const host::PathProbe& paths, GpuHost& gpus)
      : profile_(profile), fields_(profile.fields), host_(host), paths_(paths), gpus_(gpus) {
    // Asked once per published port: a set, however long the list.
    for (const auto& opt_in : fields_.value("allow", json::array()))
      allowed_.insert(opt_in.get<std::string>());
  }

  [[noreturn]] void fail(const std::string& pointer, const std::string& message,
                         ExitCode code = ExitCode::usage) const {
    throw Error(code, profile_.origin_of(pointer).describe() + ": " + message);
  }

  bool allowed(const std::string& opt_in) const { return allowed_.contains(opt_in); }

  void require_opt_in(const std::string& pointer, const std::string& what, const std::string& opt_in) const {
    if (!allowed(opt_in))
      fail(pointer, what + " is refused; add \"" + opt_in + "\" to the profile's \"allow\" list if you mean it");
  }

  std::string text(const char* key, const std::string& fallback = "") const {
    return fields_.contains(key) ? fields_[key].get<std::string>() : fallback;
  }

  // Named and counted GPUs are placed by the host; "auto" and "all" need no choice.
  GpuAssignment gpus(const std::string& env, std::vector<PlacedGpu>& placed) const {
    using Kind = profile::GpuRequest::Kind;
    profile::GpuRequest request = profile_.gpus.value_or(profile::GpuRequest{});
    switch (request.kind) {
    case Kind::automatic:
      return {host_.gpu_count > 0 ? GpuAssignment::Kind::all : GpuAssignment::Kind::none, {}};
    case Kind::all:
      return {GpuAssignment::Kind::all, {}};
    case Kind::none:
      return {GpuAssignment::Kind::none, {}};
    case Kind::devices:
      placed = gpus_.claim(env, request.devices);
      break;
    case Kind::select:
      // Judged on the GPU inventory the choice is made from (replayable), which names each GPU.
      placed = gpus_.choose(env, request.count);
      break;
    case Kind::count:
      if (request.count > host_.gpu_count)
        fail("/gpus",
             "asks for " + std::to_string(request.count) + " GPU(s), this host has " + std::to_string(host_.gpu_count),
             ExitCode::host_incapable);
      for (int index = 0; index < request.count; ++index)
        request.devices.push_back(std::to_string(index));
      placed = gpus_.claim(env, request.devices);
      break;
    }
    GpuAssignment assignment{GpuAssignment::Kind::devices, {}};
    for (const auto& gpu : placed)
      assignment.devices.push_back(gpu.device);
    return assignment;
  }

  // The host's GPU runtime, for a plan with GPUs. Under CDI each device must have a CDI name,
  // refused here rather than by the engine at start.
  host::GpuRuntime gpu_runtime(const GpuAssignment& gpus) {
    if (gpus.kind == GpuAssignment::Kind::none) return host::GpuRuntime::nvidia;
    const host::GpuRuntimeSetting& setting = host_.gpu_runtime;
    if (setting.runtime == host::GpuRuntime::cdi) {
      derived_origins_["/gpu_runtime"] = {setting.source, ""};
      for (const auto& device : gpus.devices)
        if (!host::cdi_device_name(device))
          fail("/gpus", "GPU " + quote_for_message(device) + " has no CDI device name (GPU runtime \"cdi\" from " +
                            setting.source + "): name a MIG device by its UUID (\"MIG-...\") or as GPU:MIG (\"0:1\")");
    }
    return setting.runtime;
  }

  std::vector<PortBinding> ports(Service service) const {
    std::vector<PortBinding> bindings;
    struct HostPortUse {
      std::optional<std::size_t> first, unspecified;           // the first port using it, the first on every address
      std::unordered_map<std::string, std::size_t> by_address; // address -> the first port using it there
    };
    std::unordered_map<std::string, HostPortUse> used; // "HOST/protocol" -> where it is published
    const json& ports = fields_.value("ports", json::array());
    bool authenticated = service == Service::jupyter || service == Service::ssh;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const json& port = ports[i];
      std::string at = child_pointer("/ports", i);
      PortBinding binding{
          port["bind"], std::nullopt, port["container"],
          parse_protocol(port["protocol"].get<std::string>(), profile_.origin_of(at + "/protocol").describe())};
      if (port["host"].is_number()) binding.host_port = port["host"].get<int>();
      if (!profile::is_loopback(binding.bind) && !authenticated)
        require_opt_in(at,
                       "publishing port " + std::to_string(binding.container_port) + " on " + binding.bind +
                           " for service \"" + name(service) + "\", which has no authentication",
                       "unauthenticated-public-port");
      if (binding.host_port) {
        // One host port and protocol is published once per address; an unspecified address
        // (0.0.0.0, ::) takes it on every address.
        HostPortUse& use = used[std::to_string(*binding.host_port) + "/" + name(binding.protocol)];
        std::optional<std::size_t> other;
        if (is_unspecified(binding.bind))
          other = use.first;
        else if (use.unspecified)
          other = use.unspecified;
        else if (auto found = use.by_address.find(binding.bind); found != use.by_address.end())
          other = found->second;
        if (other)
          fail(at, "host port " + std::to_string(*binding.host_port) + "/" + name(binding.protocol) + " on " +
                       binding.bind + " is already published by " +
                       profile_.origin_of(child_pointer("/ports", *other)).describe());
        if (!use.first) use.first = i;
        if (is_unspecified(binding.bind)) use.unspecified = i;
        use.by_address.emplace(binding.bind, i);
      }
      bindings.push_back(binding);
    }
    return bindings;
  }

  void check_dangerous_mount(const std::string& at, const fs::path& source) const {
    fs::path real = host::mount_source_path(source, paths_);
    std::string text = real.string();
    if (text.size() > 1 && text.back() == '/') text.pop_back();
    // Everything lies inside /: only "mount-root" lets it in, and with it everything below.
    if (text == "/") {
      require_opt_in(at, "mounting the host's /", "mount-root");
      return;
    }
    if (real.filename() == "docker.sock")
      require_opt_in(at, "mounting the Docker socket " + text + " (root on the host)", "mount-docker-socket");
    for (const auto& place : guarded_host_places()) {
      // A guarded place behind a link (/var/run -> /run) is guarded where it leads.
      std::string guarded = paths_.exists(place.path) ? paths_.canonical(place.path).string() : place.path;
      std::string except = place.except ? guarded + "/" + place.except : "";
      if (!except.empty() && (text == except || is_inside(text, except))) continue;
      std::string relation;
      if (text == guarded)
        relation = " (" + std::string(place.what) + ")";
      else if (is_inside(text, guarded))
        relation = " (inside " + guarded + ", " + place.what + ")";
      else if (is_inside(guarded, text))
        relation = " (it holds " + guarded + ", " + place.what + ")";
      else
        continue;
      // Named as written, and where it leads when a link made it another place.
      std::string named = source.lexically_normal() == real ? text : source.string() + " -> " + text;
      require_opt_in(at, "mounting " + named + relation, place.opt_in);
    }
  }

  // The container's /run/launcher holds what the launcher hands the env (its secrets, the SSH host
  // key's copy): no volume may cover it, lie inside it, or replace the /run (or the /var/run
  // link to it) that holds it.
  void check_container_path(const std::string& at, const std::string& target) const {
    const std::string runtime = contract::mount::runtime_dir;
    for (const std::string& reserved : {runtime, "/var" + runtime})
      if (target == reserved || is_inside(target, reserved) || is_inside(reserved, target))
        fail(at, "container path " + target + " would cover " + runtime +
                     ", where the launcher mounts the env's secrets; mount it elsewhere");
  }

  std::vector<Mount> mounts(std::vector<std::string>& create_directories) const {
    std::vector<Mount> mounts;
    const json& volumes = fields_.value("volumes", json::array());
    for (std::size_t i = 0; i < volumes.size(); ++i) {
      const json& volume = volumes[i];
      std::string at = child_pointer("/volumes", i);
      std::string source = volume["host"];
      std::string target = volume["container"];
      // The profile's value was UTF-8; the working directory or home it was joined to may not be.
      if (!is_valid_utf8(source)) fail(at, "host path " + quote_for_message(source) + " " + not_utf8_for_docker);
      for (const auto& part : fs::path(source))
        if (part.native().size() > max_file_name_bytes)
          fail(at, "host path " + quote_for_message(source) + " has a name of " + std::to_string(part.native().size()) +
                       " bytes; a file name is at most " + std::to_string(max_file_name_bytes) + " bytes");
      check_container_path(at, target);
      check_dangerous_mount(at, source);
      if (!paths_.exists(source)) {
        if (!volume["create"].get<bool>())
          fail(at, "host path " + source + " does not exist (create it, or add \"create\": true to the volume)");
        create_directories.push_back(source);
      }
      mounts.push_back({source, target, volume["read_only"]});
    }
    return mounts;
  }

  // "host" is the person at the keyboard: who ran sudo, when the launcher runs as root through it.
  // Root by any other way than "root" (or an explicit uid 0) is worth one warning.
  User user() {
    const json& user = fields_["user"];
    bool sudo = fields_.value("sudo", false);
    if (user == "host" && host_.sudo_invoker) {
      const host::SudoInvoker& invoker = *host_.sudo_invoker;
      derived_origins_["/user"] = {profile_.origin_of("/user").describe() +
                                       " under sudo: SUDO_UID=" + std::to_string(invoker.uid) +
                                       ", SUDO_GID=" + std::to_string(invoker.gid) + " (" + invoker.name + ")",
                                   ""};
      return {invoker.uid, invoker.gid, invoker.name, sudo};
    }
    if (user == "host") {
      if (host_.uid == 0) warnings_.push_back(root_by_default_warning(profile_.origin_of("/user")));
      return {host_.uid, host_.gid, host_.user_name, sudo};
    }
    if (user == "root") return {0, 0, "root", sudo};
    return {user["uid"], user["gid"], user.value("name", std::string("user")), sudo};
  }

  Access access(const std::string& env, Service service) const {
    const json& jupyter = fields_.value("jupyter", json::object());
    const json& ssh = fields_.value("ssh", json::object());
    // Map fields record origins per key: blame the first key set.
    if (service != Service::jupyter && !jupyter.empty())
      fail(child_pointer("/jupyter", jupyter.begin().key()),
           "Jupyter settings need \"service\": \"jupyter\" (this profile's service is \"" + name(service) + "\")");
    if (service != Service::ssh && !ssh.empty())
      fail(child_pointer("/ssh", ssh.begin().key()),
           "SSH settings need \"service\": \"ssh\" (this profile's service is \"" + name(service) + "\")");
    // A backup's keys reach launcher-init through the secrets directory, whatever the service.
    if (service != Service::jupyter && service != Service::ssh && !fields_.contains("backup")) return {};
    SshForwarding forwarding{ssh.value("agent_forwarding", false), ssh.value("stream_local_forwarding", false),
                             ssh.value("user_rc", false)};
    std::string secrets_dir = host::state_layout(EnvName::parse(env), host_.state_home).secrets_dir.string();
    // It is mounted into the container like a volume.
    if (!is_valid_utf8(secrets_dir))
      throw Error(ExitCode::usage, "the state directory " + quote_for_message(secrets_dir) + " " + not_utf8_for_docker +
                                       "; set XDG_STATE_HOME to a directory whose path is UTF-8");
    return {secrets_dir,
            parse_jupyter_auth(jupyter.value("auth", "token"), profile_.origin_of("/jupyter/auth").describe()),
            ssh.value("authorized_keys", std::vector<std::string>{}), ssh.value("password", false), forwarding};
  }

  // Memory (with /dev/shm inside it), CPU weight, and the CPUs and memory next to the GPUs.
  void resources(Plan& plan, const std::vector<PlacedGpu>& placed) {
    const json& resources = fields_["resources"];
    if (resources.contains("cpus")) plan.cpus = resources["cpus"].get<double>();
    if (resources["memory"].is_number()) plan.memory_bytes = resources["memory"].get<std::uint64_t>();
    if (resources.contains("pids_limit")) plan.pids_limit = resources["pids_limit"].get<long long>();
    plan.cpu_shares = resources["cpu_shares"].get<long long>();
    plan.shm_size_bytes = fields_["shm_size"].get<std::uint64_t>();
    if (profile_.origin_of("/shm_size").source == "default")
      plan.shm_size_bytes = default_shm_size(plan.memory_bytes.value_or(host_.memory_bytes));
    else if (plan.memory_bytes && plan.shm_size_bytes > *plan.memory_bytes)
      fail("/shm_size", "/dev/shm of " + format_docker_size(plan.shm_size_bytes) + " is above the memory limit of " +
                            format_docker_size(*plan.memory_bytes) + " (" +
                            profile_.origin_of("/resources/memory").describe() +
                            "), which counts it; lower it or raise the limit");
    plan.cpuset_cpus = cpuset("cpuset_cpus", host_.online_cpus, "CPUs", placed, &PlacedGpu::cpus);
    plan.cpuset_mems = cpuset("cpuset_mems", host_.numa_nodes, "NUMA nodes", placed, &PlacedGpu::numa_nodes);
  }

  // "auto": the union of the GPUs' affinity when the host knows it for each of them; "all": no
  // set; a list: checked against what the host has.
  std::string cpuset(const std::string& key, const std::string& host_has, const std::string& what,
                     const std::vector<PlacedGpu>& placed, std::string PlacedGpu::*affinity) {
    std::string pointer = "/resources/" + key;
    std::string value = fields_["resources"].value(key, "auto");
    if (value == "all") return "";
    if (value != "auto") {
      CpuList wanted = *parse_cpu_list(value);
      CpuList present = parse_cpu_list(host_has).value_or(CpuList{});
      std::erase_if(wanted, [&](int id) { return present.count(id) > 0; });
      if (!wanted.empty())
        fail(pointer, value + " names " + what + " this host does not have (" + format_cpu_list(wanted) + "); it has " +
                          host_has);
      return value;
    }
    if (placed.empty() ||
        std::any_of(placed.begin(), placed.end(), [&](const PlacedGpu& gpu) { return (gpu.*affinity).empty(); }))
      return "";
    CpuList near;
    std::string gpus;
    for (const auto& gpu : placed) {
      near.merge(*parse_cpu_list(gpu.*affinity));
      gpus += (gpus.empty() ? "" : ", ") + gpu.description;
    }
    derived_origins_[pointer] = {"NUMA affinity of " + gpus + " (" + gpus_.topology_source() + ")", ""};
    return format_cpu_list(near);
  }

  // "idle" and "max_age": launcher-init stops the env, so Docker must not start it again.
  SelfStop self_stop(Service service, const Restart& restart) const {
    SelfStop stop;
    if (fields_.contains("idle")) {
      if (service != Service::jupyter && service != Service::ssh)
        fail("/idle", "\"idle\" needs the jupyter or ssh service, whose users come and go; a " + name(service) +
                          " env ends when its program does (this profile's service is \"" + name(service) + "\")");
      stop.idle_seconds = fields_["idle"]["stop_after"].get<long long>();
      stop.idle_gpu_util_below = fields_["idle"].value("gpu_util_below", 5);
    }
    if (fields_.contains("max_age")) stop.max_age_seconds = fields_["max_age"].get<long long>();
    bool stops_itself = stop.idle_seconds || stop.max_age_seconds;
    if (stops_itself && restart.policy != Restart::Policy::no) {
      std::string key = stop.idle_seconds ? "idle" : "max_age";
      fail("/restart", "\"restart\": \"" + name(restart) + "\" would start again an env that \"" + key + "\" (" +
                           profile_.origin_of("/" + key).describe() + ") stops; use \"restart\": \"no\" or drop one");
    }
    return stop;
  }

  std::optional<Backup> backup(const std::string& env) const {
    if (!fields_.contains("backup")) return std::nullopt;
    const json& backup = fields_["backup"];
    return Backup{backup["to"].get<std::string>() + "/" + env,
                  backup["paths"].get<std::vector<std::string>>(),
                  backup.value("every", 1800LL),
                  backup.value("keep", 5),
                  backup.value("endpoint", ""),
                  backup.value("credentials", "")};
  }

  Plan plan(const std::string& profile_name) {
    Plan plan;
    plan.profile = profile_name;
    plan.env = text("name", default_env_name(host_.cwd, profile_name));
    plan.image = text("image");
    plan.service = parse_service(text("service"), profile_.origin_of("/service").describe());
    plan.command = fields_.value("command", std::vector<std::string>{});
    if (plan.service == Service::command && plan.command.empty())
      fail("/service", "service \"command\" needs a \"command\" to run");
    if (plan.service != Service::command && !plan.command.empty())
      fail("/command", "a \"command\" is only run with \"service\": \"command\" (this profile's service is \"" +
                           name(plan.service) + "\")");
    std::vector<PlacedGpu> placed;
    plan.gpus = gpus(plan.env, placed);
    plan.gpu_runtime = gpu_runtime(plan.gpus);
    plan.ports = ports(plan.service);
    plan.mounts = mounts(plan.create_directories);
    plan.environment = fields_.value("env", std::map<std::string, std::string>{});
    plan.workdir = text("workdir");
    plan.user = user();
    plan.access = access(plan.env, plan.service);
    plan.ipc = parse_ipc(text("ipc"), profile_.origin_of("/ipc").describe());
    for (const auto& [name, limit] : fields_["ulimits"].items())
      plan.ulimits.push_back({name, limit["soft"].get<long long>(), limit["hard"].get<long long>()});
    resources(plan, placed);
    plan.restart = parse_restart(text("restart"), profile_.origin_of("/restart").describe());
    plan.labels = fields_.value("labels", std::map<std::string, std::string>{});
    // Which directory this env belongs to, for `down` without ENV (a path Docker cannot carry
    // intact, not UTF-8, is left out: such an env is named instead).
    if (std::string directory = host_.cwd.lexically_normal().string(); is_valid_utf8(directory))
      plan.labels[contract::label::project_dir] = directory;
    plan.privileged = fields_.value("privileged", false);
    plan.read_only_root = fields_.value("read_only_root", false);
    if (plan.read_only_root && plan.user.sudo)
      fail("/sudo", "sudo writes its rule to /etc/sudoers.d, which \"read_only_root\": true (" +
                        profile_.origin_of("/read_only_root").describe() + ") keeps read-only; drop one of them");
    plan.network = text("network", own_network(plan.env));
    plan.self_stop = self_stop(plan.service, plan.restart);
    plan.backup = backup(plan.env);
    if (plan.privileged)
      require_opt_in("/privileged", "--privileged (every device and capability of the host)", "privileged");
    return plan;
  }

  // Values resolution derived, with where they came from: the NUMA CPU set of the GPUs, the user
  // sudo names, the host's GPU runtime.
  const std::map<std::string, profile::Origin>& derived_origins() const { return derived_origins_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

private:
  const Sourced& profile_;
  const json& fields_;
  const host::HostFacts& host_;
  const host::PathProbe& paths_;
  GpuHost& gpus_;
  std::map<std::string, profile::Origin> derived_origins_;
  std::vector<std::string> warnings_;
  std::unordered_set<std::string> allowed_; // the profile's "allow" list
};

} // namespace

Sourced host_defaults(const host::HostFacts& host) {
  json defaults{
      // One image for hosts with and without GPUs: the CUDA wheels run on either.
      {"image", matrix::default_image_tag(matrix::embedded_matrix())},
      {"service", "shell"},
      {"user", "host"},
      {"shm_size", default_shm_size(default_memory_limit(host.memory_bytes))},
      // Bounds a fork bomb yet leaves room for DataLoader workers and their threads; equal CPU
      // weights, written out (Docker leaves them unset otherwise).
      {"resources", {{"pids_limit", 32768}, {"memory", default_memory_limit(host.memory_bytes)}, {"cpu_shares", 1024}}},
      // Unlimited locked memory for pinned buffers and RDMA, where the daemon can grant it.
      {"ulimits",
       {{"memlock", {{"soft", host.memlock_ceiling.value_or(-1)}, {"hard", host.memlock_ceiling.value_or(-1)}}},
        {"stack", {{"soft", 67108864}, {"hard", 67108864}}}}},
      {"restart", "no"},
  };
  return profile::as_layer(std::move(defaults), "default", "", {.gpus = profile::GpuRequest{}}); // "auto"
}

std::uint64_t default_memory_limit(std::uint64_t host_memory) {
  std::uint64_t reserve = std::max(host_memory / 10, 2 * gib);
  std::uint64_t limit = std::max(host_memory > reserve ? host_memory - reserve : 0, host_memory / 2);
  constexpr std::uint64_t mib = 1ULL << 20;
  return limit / mib * mib; // a size people can read: "58982m"
}

namespace {

// The first 8 hex digits of SHA-256 of `text`: what tells apart two directories whose names
// render alike.
std::string short_hash(const std::string& text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), 8);
}

} // namespace

std::string default_env_name(const fs::path& cwd, const std::string& profile_name) {
  std::string directory = cwd.filename().string();
  if (directory.empty() && cwd.has_parent_path()) directory = cwd.parent_path().filename().string(); // "/a/b/"
  if (directory.empty() && profile_name.size() <= max_env_name_length) return profile_name;          // "/"
  std::string rendered;
  for (char c : directory) {
    bool keep = is_ascii_alphanumeric(c) || c == '_' || c == '.' || c == '-';
    rendered += keep ? c : '-';
  }
  rendered.erase(0, rendered.find_first_not_of("_.-"));
  std::string name = rendered + "-" + profile_name;
  // A faithful rendering names the directory; any other (characters replaced or dropped, or cut
  // to length) could be another directory's too, so the absolute path's hash tells them apart.
  if (rendered == directory && name.size() <= max_env_name_length) return name;
  std::string tail = "-" + short_hash(fs::absolute(cwd).lexically_normal().string()) + "-" + profile_name;
  if (tail.size() + 2 > max_env_name_length) // a profile name too long to add: the hash covers it
    tail = "-" + short_hash(fs::absolute(cwd).lexically_normal().string() + '\0' + profile_name);
  rendered.resize(std::min(rendered.size(), max_env_name_length - tail.size()));
  rendered.erase(rendered.find_last_not_of("_.-") + 1);
  return rendered.empty() ? tail.substr(1) : rendered + tail;
}

Resolution resolve_plan(const std::string& profile_name, const Sourced& profile, const host::HostFacts& host,
                        const host::PathProbe& paths, GpuHost& gpus) {
  Sourced merged = host_defaults(host);
  profile::overlay(merged, profile);
  Resolver resolver(merged, host, paths, gpus);
  Plan plan = resolver.plan(profile_name);
  for (const auto& [pointer, origin] : resolver.derived_origins())
    merged.origins[pointer] = origin;
  return {std::move(plan), std::move(merged), resolver.warnings(), std::nullopt};
}

} // namespace launcher::plan
