#include "doctor/snapshot.hpp"

#include <fmt/format.h>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "gpu/cdi.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/unsaved.hpp"
#include "matrix/version.hpp"

namespace launcher::doctor {

using nlohmann::json;

namespace {

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

DockerFacts::Reach reach_of_failure(const facts::Fact& fact) {
  if (fact.exit_code == 127) return DockerFacts::Reach::cli_missing;
  switch (docker::classify_failure(fact.err)) {
  case docker::Failure::permission_denied:
    return DockerFacts::Reach::permission_denied;
  case docker::Failure::daemon_down:
    return DockerFacts::Reach::daemon_down;
  default:
    return DockerFacts::Reach::failed;
  }
}

// The "sm_90"-like tokens of a label ("[a-z]+_[0-9]+" by hand: the label is another program's
// text of any length); a number of more than 4 digits is no architecture.
std::vector<std::string> arch_tokens(std::string_view text) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::vector<std::string> tokens;
  for (std::size_t at = 0; at < text.size();) {
    if (!lower(text[at])) {
      ++at;
      continue;
    }
    std::size_t start = at;
    while (at < text.size() && lower(text[at]))
      ++at;
    if (at >= text.size() || text[at] != '_') continue;
    std::size_t digits = at + 1, end = digits;
    while (end < text.size() && digit(text[end]))
      ++end;
    if (end == digits || end - digits > 4) continue;
    tokens.emplace_back(text.substr(start, end - start));
    at = end;
  }
  return tokens;
}

// Labels the images carry (images/Dockerfile writes them from what torch reports at build time).
std::optional<matrix::Row> spec_from_labels(const JsonReader& labels, const matrix::Matrix& matrix) {
  auto label = [&](const char* name) { return labels.string_or(name, ""); };
  if (label(contract::label::image_torch).empty()) return std::nullopt;
  matrix::Row spec;
  spec.torch = label(contract::label::image_torch);
  std::string cuda = label(contract::label::image_cuda);
  spec.cuda = cuda == "none" || cuda == "cpu" ? "" : cuda;
  spec.cuda_full = spec.cuda;
  spec.cudnn = label(contract::label::image_cudnn);
  spec.nccl = label(contract::label::image_nccl);
  for (const auto& arch : arch_tokens(label(contract::label::image_cuda_archs)))
    (arch.rfind("compute_", 0) == 0 ? spec.ptx : spec.cuda_archs).push_back(arch);
  spec.min_driver = label(contract::label::image_min_driver);
  if (spec.min_driver.empty() && !spec.cuda.empty())
    if (const matrix::CudaToolkit* toolkit = matrix.toolkit(spec.cuda)) spec.min_driver = toolkit->min_driver;
  return spec;
}

// `docker container inspect --format '{{json .}}'` prints one object; older facts hold an array.
json inspect_document(const facts::Fact& inspect) {
  json document = JsonReader::parse(inspect.out, "docker container inspect");
  if (document.is_array() && document.size() == 1) document = json(document[0]);
  if (!document.is_object()) JsonReader(document, "docker container inspect").fail("an object");
  return document;
}

ContainerFacts container_facts(const std::string& name, const facts::Fact& inspect) {
  ContainerFacts facts;
  facts.name = name;
  if (!inspect.ok()) return facts;
  facts.exists = true;
  try {
    json document = inspect_document(inspect);
    JsonReader state = JsonReader(document, "docker container inspect").at("State");
    facts.status = state.at("Status").string();
    facts.running = state.at("Running").boolean();
  } catch (const Error& error) {
    facts.problem = error.what();
  }
  return facts;
}

// The limits as render spells them; a value of none is no limit, and neither is the default CPU
// weight (render passes it on, but it is the engine's default too).
constexpr long long default_cpu_shares = 1024;
struct AskedLimits {
  std::optional<std::uint64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<long long> pids, cpu_shares;
  std::string cpuset_cpus, cpuset_mems;
};

std::vector<std::string> limit_options(const AskedLimits& asked) {
  std::vector<std::string> limits;
  if (asked.memory_bytes) limits.push_back("--memory " + format_docker_size(*asked.memory_bytes));
  if (asked.cpus) limits.push_back(fmt::format("--cpus {:g}", *asked.cpus));
  if (asked.pids) limits.push_back("--pids-limit " + std::to_string(*asked.pids));
  if (asked.cpu_shares && *asked.cpu_shares != default_cpu_shares)
    limits.push_back("--cpu-shares " + std::to_string(*asked.cpu_shares));
  if (!asked.cpuset_cpus.empty()) limits.push_back("--cpuset-cpus " + asked.cpuset_cpus);
  if (!asked.cpuset_mems.empty()) limits.push_back("--cpuset-mems " + asked.cpuset_mems);
  return limits;
}

} // namespace

Subject subject_of(const plan::Plan& plan) {
  Subject subject;
  subject.image = plan.image;
  subject.gpus = plan.gpus;
  subject.gpu_runtime = plan.gpu_runtime;
  subject.shm_size_bytes = plan.shm_size_bytes;
  subject.memory_bytes = plan.memory_bytes;
  subject.ipc = plan.ipc;
  subject.limits = limit_options(
      {plan.memory_bytes, plan.cpus, plan.pids_limit, plan.cpu_shares, plan.cpuset_cpus, plan.cpuset_mems});
  for (const auto& port : plan.ports)
    if (starts_with(port.bind, "127.") || port.bind == "::1") subject.publishes_on_loopback = true;
  return subject;
}

Subject subject_of_container(const std::string& container, const json& inspect) {
  Subject subject;
  subject.container = container;
  JsonReader document(inspect, "docker container inspect");
  subject.image = document.at("Config").at("Image").string();
  JsonReader host_config = document.at("HostConfig");
  std::int64_t shm_size = host_config.integer_or("ShmSize", 0);
  if (shm_size < 0) host_config.at("ShmSize").fail("a size in bytes");
  subject.shm_size_bytes = static_cast<std::uint64_t>(shm_size);
  if (std::int64_t memory = host_config.integer_or("Memory", 0); memory > 0)
    subject.memory_bytes = static_cast<std::uint64_t>(memory);
  // Only the host's IPC namespace matters to the checks; Docker also says "private", "shareable",
  // "none" or "container:ID", which all count as the engine's default here.
  if (host_config.string_or("IpcMode", "") == plan::name(plan::Ipc::host)) subject.ipc = plan::Ipc::host;
  auto positive = [&](const char* field) {
    std::int64_t value = host_config.integer_or(field, 0);
    return value > 0 ? std::optional<long long>(value) : std::nullopt;
  };
  std::optional<long long> nano_cpus = positive("NanoCpus");
  subject.limits = limit_options({subject.memory_bytes, nano_cpus ? std::optional(*nano_cpus / 1e9) : std::nullopt,
                                  positive("PidsLimit"), positive("CpuShares"), host_config.string_or("CpusetCpus", ""),
                                  host_config.string_or("CpusetMems", "")});
  if (auto gpus = docker::gpu_device_request(host_config)) {
    subject.gpu_runtime = gpus->runtime;
    if (gpus->all())
      subject.gpus = {plan::GpuAssignment::Kind::all, {}};
    else if (!gpus->device_ids.empty())
      subject.gpus = {plan::GpuAssignment::Kind::devices, gpus->device_ids};
  }
  if (auto port_bindings = host_config.find("PortBindings"))
    for (const auto& [port, bindings] : port_bindings->members()) {
      if (bindings.json().is_null()) continue;
      for (const auto& binding : bindings.elements()) {
        std::string address = binding.string_or("HostIp", "");
        if (starts_with(address, "127.") || address == "::1") subject.publishes_on_loopback = true;
      }
    }
  return subject;
}

std::string product_name(DockerFacts::Product product) {
  switch (product) {
  case DockerFacts::Product::docker_engine:
    return "Docker Engine";
  case DockerFacts::Product::podman:
    return "Podman";
  }
  return "Docker Engine";
}

namespace {

// `podman info`'s own shape (tests/fixtures/podman/podman-info.json): the engine's version under
// "version", the runtime and cgroup version under "host", the storage under "store".
void read_podman_info(const JsonReader& document, DockerFacts& facts) {
  facts.product = DockerFacts::Product::podman;
  if (facts.server_version.empty()) facts.server_version = document.at("version").at("Version").string();
  if (facts.client_version.empty()) facts.client_version = facts.server_version;
  JsonReader host = document.at("host");
  if (auto runtime = host.find("ociRuntime"))
    if (std::string name = runtime->string_or("name", ""); !name.empty()) facts.runtimes.push_back(name);
  if (auto security = host.find("security")) facts.rootless = security->boolean_or("rootless", false);
  std::string cgroup = host.string_or("cgroupVersion", ""); // "v1", "v2"
  facts.cgroup_version = starts_with(cgroup, "v") ? cgroup.substr(1) : cgroup;
  if (auto store = document.find("store")) {
    facts.storage_driver = store->string_or("graphDriverName", "");
    facts.root_dir = store->string_or("graphRoot", "");
    if (auto options = store->find("graphOptions"))
      if (auto program = options->find("overlay.mount_program"))
        facts.overlay_mount_program = program->string_or("Executable", "");
  }
}

} // namespace

DockerFacts parse_docker_facts(const facts::Fact* version, const facts::Fact* info) {
  DockerFacts facts;
  const facts::Fact* asked = info && info->recorded ? info : (version && version->recorded ? version : nullptr);
  if (!asked) return facts;
  // Output is read only from a command that succeeded; a failed one's stderr says why instead.
  std::string unreadable;
  try {
    if (version && version->ok()) {
      json parsed = JsonReader::parse(version->out, "docker version");
      JsonReader document(parsed, "docker version");
      facts.client_version = document.at("Client").at("Version").string();
      // A `version` that succeeds without a Server is Podman's: it has no daemon, its client is
      // the engine (tests/fixtures/podman/podman-version.json).
      if (auto server = document.find("Server")) {
        facts.server_version = server->at("Version").string();
      } else {
        facts.product = DockerFacts::Product::podman;
        facts.server_version = facts.client_version;
      }
    }
    if (info && info->ok()) {
      json parsed = JsonReader::parse(info->out, "docker info");
      JsonReader document(parsed, "docker info");
      if (document.find("host") && document.find("store")) {
        read_podman_info(document, facts);
      } else {
        if (facts.client_version.empty())
          if (auto client = document.find("ClientInfo")) facts.client_version = client->string_or("Version", "");
        if (facts.server_version.empty()) facts.server_version = document.at("ServerVersion").string();
        if (auto runtimes = document.find("Runtimes"))
          for (const auto& [name, runtime] : runtimes->members())
            facts.runtimes.push_back(name);
        facts.cgroup_version = document.string_or("CgroupVersion", "");
        facts.storage_driver = document.string_or("Driver", "");
        facts.root_dir = document.string_or("DockerRootDir", "");
        facts.cdi_devices = gpu::discovered_cdi_devices(document);
        if (auto dirs = document.find("CDISpecDirs"); dirs && !dirs->json().is_null()) {
          facts.cdi_spec_dirs.emplace();
          for (const auto& dir : dirs->elements())
            facts.cdi_spec_dirs->push_back(dir.string());
        }
      }
    }
  } catch (const Error& error) {
    unreadable = error.what();
  }
  if (asked->ok() && unreadable.empty() && !facts.server_version.empty()) {
    facts.reach = DockerFacts::Reach::reachable;
  } else if (!unreadable.empty()) {
    facts.reach = DockerFacts::Reach::failed;
    facts.error = unreadable;
  } else {
    facts.reach = reach_of_failure(*asked);
    // The engine's words, escaped and cut; "(no message from docker, exit N)" rather than nothing.
    facts.error = docker::failure_cause({asked->exit_code, "", asked->err.empty() ? asked->out : asked->err});
  }
  return facts;
}

ToolkitFacts parse_toolkit_facts(const DockerFacts& docker, const facts::Fact& cdi_specs,
                                 const facts::Fact& cli_version) {
  ToolkitFacts facts;
  facts.recorded = docker.reach != DockerFacts::Reach::not_recorded || cdi_specs.recorded || cli_version.recorded;
  for (const auto& runtime : docker.runtimes)
    if (runtime == "nvidia") facts.nvidia_runtime = true;
  if (cdi_specs.ok())
    for (const auto& path : split(cdi_specs.out, '\n'))
      if (path.find("nvidia") != std::string::npos) facts.cdi_specs.push_back(path);
  if (cli_version.ok()) facts.cli_version = first_line(cli_version.out);
  return facts;
}

CdiFacts parse_cdi_facts(const DockerFacts& docker, const facts::Fact* cdi_list,
                         const std::vector<std::pair<std::string, facts::Fact>>& spec_files) {
  CdiFacts facts;
  if (auto discovered = gpu::nvidia_cdi_devices(docker.cdi_devices); !discovered.empty()) {
    facts.listed = discovered;
    facts.listed_by = "docker info";
  } else if (cdi_list && cdi_list->ok()) {
    facts.listed = gpu::parse_cdi_list(cdi_list->out);
    facts.listed_by = "nvidia-ctk cdi list";
  } else if (cdi_list && cdi_list->exit_code == 127) {
    facts.list_problem = gpu::nvidia_ctk_missing;
  } else if (cdi_list && cdi_list->recorded) {
    facts.list_problem =
        "nvidia-ctk cdi list failed: " +
        docker::failure_cause({cdi_list->exit_code, "", cdi_list->err.empty() ? cdi_list->out : cdi_list->err});
  } else {
    facts.list_problem = "the facts do not record nvidia-ctk cdi list";
  }
  for (const auto& [path, file] : spec_files) {
    CdiFacts::Spec spec{path, "", ""};
    if (file.ok())
      spec.driver_version = gpu::spec_driver_version(file.out).value_or("");
    else
      spec.problem = !file.recorded ? "not recorded" : file.err.empty() ? "cannot be read" : first_line(file.err);
    facts.specs.push_back(spec);
  }
  return facts;
}

ImageFacts parse_image_facts(const std::string& ref, const facts::Fact& labels, const matrix::Matrix& matrix) {
  ImageFacts facts;
  facts.ref = ref;
  facts.present = labels.ok();
  std::optional<matrix::Row> labelled;
  if (labels.ok()) {
    try {
      json parsed = JsonReader::parse(labels.out, "docker image inspect");
      // An image without labels has null there.
      if (!parsed.is_null()) labelled = spec_from_labels(JsonReader(parsed, "docker image inspect"), matrix);
    } catch (const Error& error) {
      facts.problem = error.what();
    }
  }
  if (labelled) {
    facts.origin = ImageFacts::Origin::labels;
    facts.spec = *labelled;
  } else if (auto match = matrix::find_by_image(matrix, ref)) {
    facts.origin = ImageFacts::Origin::matrix;
    facts.spec = *match->row;
    facts.row_tag = matrix::image_tag(*match->row, match->variant);
  }
  return facts;
}

bool requests_gpus(const Subject& subject) { return subject.gpus.kind != plan::GpuAssignment::Kind::none; }

namespace {

// The spec files are read only for GPUs through CDI; nvidia-ctk is asked only when the engine
// does not list the devices itself.
CdiFacts gather_cdi_facts(facts::HostQueries& queries, const HostSnapshot& snapshot) {
  std::optional<facts::Fact> list;
  if (gpu::nvidia_cdi_devices(snapshot.docker->cdi_devices).empty()) list = queries.cdi_device_list();
  std::vector<std::pair<std::string, facts::Fact>> spec_files;
  for (const auto& path : snapshot.toolkit.cdi_specs) {
    try {
      spec_files.emplace_back(path, queries.cdi_spec(path));
    } catch (const Error& error) {
      spec_files.emplace_back(path, facts::Fact{true, 1, "", error.what()});
    }
  }
  return parse_cdi_facts(*snapshot.docker, list ? &*list : nullptr, spec_files);
}

// Rootless Podman's storage falls back to fuse-overlayfs by itself when its check of the kernel's
// overlay fails, and keeps that in the store: only the store's flag file says so.
void read_overlay_mount_program_flag(facts::HostQueries& queries, DockerFacts& docker) {
  if (docker.reach != DockerFacts::Reach::reachable || docker.product != DockerFacts::Product::podman ||
      !docker.rootless || docker.storage_driver != "overlay" || !docker.overlay_mount_program.empty() ||
      docker.root_dir.empty())
    return;
  facts::Fact flag = queries.overlay_mount_program_flag(docker.root_dir);
  std::string_view content = flag.out;
  content = content.substr(0, content.find_last_not_of(" \t\n") + 1);
  docker.overlay_mount_program_by_storage = flag.ok() && content == "true";
}

void gather_gpu_facts(facts::HostQueries& queries, HostSnapshot& snapshot, const Subject& subject) {
  snapshot.gpus = gpu::read_gpu_inventory(queries);
  facts::Fact cdi = queries.cdi_specs();
  facts::Fact cli = queries.toolkit_cli_version();
  snapshot.toolkit = parse_toolkit_facts(*snapshot.docker, cdi, cli);
  if (requests_gpus(subject) && subject.gpu_runtime == host::GpuRuntime::cdi)
    snapshot.cdi = gather_cdi_facts(queries, snapshot);
}

} // namespace

HostSnapshot gather_doctor_facts(facts::HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix) {
  HostSnapshot snapshot;
  facts::Fact version = queries.docker_version();
  facts::Fact info = queries.docker_info();
  snapshot.docker = parse_docker_facts(&version, &info);
  read_overlay_mount_program_flag(queries, *snapshot.docker);
  gather_gpu_facts(queries, snapshot, subject);
  if (!snapshot.gpus.gpus.empty()) snapshot.topology = gpu::read_gpu_topology(queries);
  if (!subject.image.empty())
    snapshot.image = parse_image_facts(subject.image, queries.image_labels(subject.image), matrix);
  snapshot.infiniband = gather_infiniband_facts(queries);
  // Reading the record starts a container of the image: only where the answer matters, and never a pull.
  if (snapshot.infiniband->has_devices() && snapshot.image && snapshot.image->present)
    snapshot.infiniband->image =
        parse_image_rdma(queries.image_package_record(subject.image, lifecycle::package_record));
  return snapshot;
}

std::pair<Subject, HostSnapshot> gather_container_facts(facts::HostQueries& queries, const std::string& container,
                                                        const matrix::Matrix& matrix) {
  facts::Fact inspect = queries.container_inspect(container);
  ContainerFacts facts = container_facts(container, inspect);
  Subject subject;
  subject.container = container;
  if (facts.exists && facts.problem.empty()) {
    try {
      subject = subject_of_container(container, inspect_document(inspect));
    } catch (const Error& error) {
      facts.problem = error.what();
    }
  }
  HostSnapshot snapshot = gather_doctor_facts(queries, subject, matrix);
  if (facts.running && requests_gpus(subject)) facts.gpu_list = queries.container_gpu_list(container);
  snapshot.container = facts;
  return {subject, snapshot};
}

HostSnapshot gather_preflight_facts(facts::HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix,
                                    bool engine_may_ignore_limits) {
  HostSnapshot snapshot;
  if (requests_gpus(subject)) {
    // docker info answers reachability, versions and runtimes in one call.
    facts::Fact info = queries.docker_info();
    snapshot.docker = parse_docker_facts(nullptr, &info);
    gather_gpu_facts(queries, snapshot, subject);
    snapshot.image = parse_image_facts(subject.image, queries.image_labels(subject.image), matrix);
  } else if (engine_may_ignore_limits && !subject.limits.empty()) {
    facts::Fact info = queries.docker_info();
    snapshot.docker = parse_docker_facts(nullptr, &info);
  } else if (subject.publishes_on_loopback) {
    facts::Fact version = queries.docker_version();
    snapshot.docker = parse_docker_facts(&version, nullptr);
  }
  return snapshot;
}

json to_json(const HostSnapshot& snapshot) {
  json result = {{"gpu", gpu::to_json(snapshot.gpus)}};
  if (snapshot.docker) {
    const DockerFacts& docker = *snapshot.docker;
    result["docker"] = {{"reachable", docker.reach == DockerFacts::Reach::reachable},
                        {"error", docker.error},
                        {"client_version", docker.client_version},
                        {"server_version", docker.server_version},
                        {"runtimes", docker.runtimes},
                        {"cgroup_version", docker.cgroup_version},
                        {"storage_driver", docker.storage_driver},
                        {"root_dir", docker.root_dir},
                        {"cdi_devices", docker.cdi_devices},
                        {"cdi_spec_dirs", docker.cdi_spec_dirs ? json(*docker.cdi_spec_dirs) : json(nullptr)}};
  }
  result["toolkit"] = {{"nvidia_runtime", snapshot.toolkit.nvidia_runtime},
                       {"cdi_specs", snapshot.toolkit.cdi_specs},
                       {"nvidia_container_cli", snapshot.toolkit.cli_version}};
  if (snapshot.image) {
    const ImageFacts& image = *snapshot.image;
    const char* origins[] = {"labels", "matrix", "unknown"};
    json spec = nullptr;
    if (image.origin != ImageFacts::Origin::unknown)
      spec = {{"torch", image.spec.torch},           {"cuda", image.spec.cuda},
              {"cudnn", image.spec.cudnn},           {"nccl", image.spec.nccl},
              {"cuda_archs", image.spec.cuda_archs}, {"ptx", image.spec.ptx},
              {"min_driver", image.spec.min_driver}, {"unverified", image.spec.unverified}};
    result["image"] = {{"ref", image.ref},
                       {"present", image.present},
                       {"facts_from", origins[static_cast<int>(image.origin)]},
                       {"spec", spec}};
  }
  if (snapshot.infiniband) result["infiniband"] = to_json(*snapshot.infiniband);
  if (snapshot.cdi) {
    json specs = json::array();
    for (const auto& spec : snapshot.cdi->specs)
      specs.push_back({{"path", spec.path}, {"driver_version", spec.driver_version}, {"problem", spec.problem}});
    result["cdi"] = {{"listed", snapshot.cdi->listed},
                     {"listed_by", snapshot.cdi->listed_by},
                     {"list_problem", snapshot.cdi->list_problem},
                     {"specs", specs}};
  }
  return result;
}

} // namespace launcher::doctor
