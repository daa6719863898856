#include "doctor/snapshot.hpp"

#include <regex>

#include "core/text.hpp"
#include "matrix/version.hpp"

namespace launcher::doctor {

using nlohmann::json;

namespace {

std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// JSON a command printed, or null when it printed none (a failed command, a missing file).
json parse_or_null(const Fact& fact) {
  if (!fact.recorded || fact.out.empty()) return nullptr;
  json parsed = json::parse(fact.out, nullptr, false);
  return parsed.is_discarded() ? json(nullptr) : parsed;
}

std::string text_at(const json& object, const json::json_pointer& pointer) {
  return object.contains(pointer) && object[pointer].is_string() ? object[pointer].get<std::string>() : "";
}

DockerFacts::Reach classify_failure(const Fact& fact) {
  if (fact.exit_code == 127) return DockerFacts::Reach::cli_missing;
  if (fact.err.find("permission denied") != std::string::npos) return DockerFacts::Reach::permission_denied;
  if (fact.err.find("Cannot connect to the Docker daemon") != std::string::npos) return DockerFacts::Reach::daemon_down;
  return DockerFacts::Reach::failed;
}

std::vector<std::string> arch_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  static const std::regex token("[a-z]+_[0-9]+");
  for (std::sregex_iterator it(text.begin(), text.end(), token), end; it != end; ++it) tokens.push_back(it->str());
  return tokens;
}

// Labels the images carry (images/Dockerfile writes them from what torch reports at build time).
std::optional<matrix::Row> spec_from_labels(const json& labels, const matrix::Matrix& matrix) {
  auto label = [&](const char* name) { return labels.is_object() ? labels.value(name, std::string()) : std::string(); };
  if (label("io.launcher.torch").empty()) return std::nullopt;
  matrix::Row spec;
  spec.torch = label("io.launcher.torch");
  std::string cuda = label("io.launcher.cuda");
  spec.cuda = cuda == "none" || cuda == "cpu" ? "" : cuda;
  spec.cuda_full = spec.cuda;
  spec.cudnn = label("io.launcher.cudnn");
  spec.nccl = label("io.launcher.nccl");
  for (const auto& arch : arch_tokens(label("io.launcher.cuda-archs")))
    (arch.rfind("compute_", 0) == 0 ? spec.ptx : spec.cuda_archs).push_back(arch);
  spec.min_driver = label("io.launcher.min-driver");
  if (spec.min_driver.empty() && !spec.cuda.empty())
    if (const matrix::CudaToolkit* toolkit = matrix.toolkit(spec.cuda)) spec.min_driver = toolkit->min_driver;
  return spec;
}

ContainerFacts container_facts(const std::string& name, const Fact& inspect) {
  ContainerFacts facts;
  facts.name = name;
  json document = parse_or_null(inspect);
  if (document.is_array() && !document.empty()) document = document[0];
  if (!inspect.ok() || !document.is_object()) return facts;
  facts.exists = true;
  facts.status = text_at(document, "/State/Status"_json_pointer);
  facts.running = document.value("/State/Running"_json_pointer, false);
  return facts;
}

} // namespace

Subject subject_of(const plan::Plan& plan) {
  Subject subject;
  subject.image = plan.image;
  subject.gpus = plan.gpus;
  subject.shm_size_bytes = plan.shm_size_bytes;
  subject.ipc = plan.ipc;
  for (const auto& port : plan.ports)
    if (starts_with(port.bind, "127.") || port.bind == "::1") subject.publishes_on_loopback = true;
  return subject;
}

Subject subject_of_container(const std::string& container, const json& inspect) {
  Subject subject;
  subject.container = container;
  subject.image = text_at(inspect, "/Config/Image"_json_pointer);
  const json& host_config = inspect.value("HostConfig", json::object());
  subject.shm_size_bytes = host_config.value("ShmSize", std::uint64_t{0});
  subject.ipc = host_config.value("IpcMode", std::string());
  if (subject.ipc != "host") subject.ipc.clear();
  const json& requests = host_config.contains("DeviceRequests") && host_config["DeviceRequests"].is_array()
                             ? host_config["DeviceRequests"]
                             : json::array();
  for (const auto& request : requests) {
    if (request.value("Count", 0) == -1) subject.gpus.kind = plan::GpuAssignment::Kind::all;
    else if (request.contains("DeviceIDs") && request["DeviceIDs"].is_array() && !request["DeviceIDs"].empty()) {
      subject.gpus.kind = plan::GpuAssignment::Kind::devices;
      for (const auto& id : request["DeviceIDs"]) subject.gpus.devices.push_back(id.get<std::string>());
    }
  }
  if (host_config.contains("PortBindings") && host_config["PortBindings"].is_object())
    for (const auto& [port, bindings] : host_config["PortBindings"].items())
      for (const auto& binding : bindings) {
        std::string address = binding.value("HostIp", std::string());
        if (starts_with(address, "127.") || address == "::1") subject.publishes_on_loopback = true;
      }
  return subject;
}

DockerFacts parse_docker_facts(const Fact* version, const Fact* info) {
  DockerFacts facts;
  const Fact* asked = info && info->recorded ? info : (version && version->recorded ? version : nullptr);
  if (!asked) return facts;
  json version_json = version ? parse_or_null(*version) : json(nullptr);
  json info_json = info ? parse_or_null(*info) : json(nullptr);
  if (version_json.is_object()) {
    facts.client_version = text_at(version_json, "/Client/Version"_json_pointer);
    facts.server_version = text_at(version_json, "/Server/Version"_json_pointer);
  }
  if (info_json.is_object()) {
    if (facts.client_version.empty()) facts.client_version = text_at(info_json, "/ClientInfo/Version"_json_pointer);
    if (facts.server_version.empty()) facts.server_version = text_at(info_json, "/ServerVersion"_json_pointer);
    if (info_json.contains("Runtimes") && info_json["Runtimes"].is_object())
      for (const auto& [name, runtime] : info_json["Runtimes"].items()) facts.runtimes.push_back(name);
    facts.cgroup_version = text_at(info_json, "/CgroupVersion"_json_pointer);
    facts.storage_driver = text_at(info_json, "/Driver"_json_pointer);
    facts.root_dir = text_at(info_json, "/DockerRootDir"_json_pointer);
  }
  if (asked->ok() && !facts.server_version.empty()) {
    facts.reach = DockerFacts::Reach::reachable;
  } else {
    facts.reach = classify_failure(*asked);
    facts.error = first_line(asked->err.empty() ? asked->out : asked->err);
  }
  return facts;
}

ToolkitFacts parse_toolkit_facts(const DockerFacts& docker, const Fact& cdi_specs, const Fact& cli_version) {
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

ImageFacts parse_image_facts(const std::string& ref, const Fact& labels, const matrix::Matrix& matrix) {
  ImageFacts facts;
  facts.ref = ref;
  facts.present = labels.ok();
  if (auto spec = spec_from_labels(parse_or_null(labels), matrix)) {
    facts.origin = ImageFacts::Origin::labels;
    facts.spec = *spec;
  } else if (auto match = matrix::find_by_image(matrix, ref)) {
    facts.origin = ImageFacts::Origin::matrix;
    facts.spec = *match->row;
    facts.row_tag = matrix::image_tag(*match->row, match->variant);
  }
  return facts;
}

bool requests_gpus(const Subject& subject) { return subject.gpus.kind != plan::GpuAssignment::Kind::none; }

namespace {

void gather_gpu_facts(HostQueries& queries, HostSnapshot& snapshot) {
  snapshot.gpus = gpu::read_gpu_inventory(queries);
  Fact cdi = queries.cdi_specs();
  Fact cli = queries.toolkit_cli_version();
  snapshot.toolkit = parse_toolkit_facts(*snapshot.docker, cdi, cli);
}

} // namespace

HostSnapshot gather_doctor_facts(HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix) {
  HostSnapshot snapshot;
  Fact version = queries.docker_version();
  Fact info = queries.docker_info();
  snapshot.docker = parse_docker_facts(&version, &info);
  gather_gpu_facts(queries, snapshot);
  if (!subject.image.empty()) snapshot.image = parse_image_facts(subject.image, queries.image_labels(subject.image), matrix);
  return snapshot;
}

std::pair<Subject, HostSnapshot> gather_container_facts(HostQueries& queries, const std::string& container,
                                                        const matrix::Matrix& matrix) {
  Fact inspect = queries.container_inspect(container);
  ContainerFacts facts = container_facts(container, inspect);
  Subject subject;
  subject.container = container;
  if (facts.exists) {
    json document = parse_or_null(inspect);
    subject = subject_of_container(container, document.is_array() ? document[0] : document);
  }
  HostSnapshot snapshot = gather_doctor_facts(queries, subject, matrix);
  if (facts.running && requests_gpus(subject)) facts.gpu_list = queries.container_gpu_list(container);
  snapshot.container = facts;
  return {subject, snapshot};
}

HostSnapshot gather_preflight_facts(HostQueries& queries, const Subject& subject, const matrix::Matrix& matrix) {
  HostSnapshot snapshot;
  if (requests_gpus(subject)) {
    // docker info answers reachability, versions and runtimes in one call.
    Fact info = queries.docker_info();
    snapshot.docker = parse_docker_facts(nullptr, &info);
    gather_gpu_facts(queries, snapshot);
    snapshot.image = parse_image_facts(subject.image, queries.image_labels(subject.image), matrix);
  } else if (subject.publishes_on_loopback) {
    Fact version = queries.docker_version();
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
                        {"root_dir", docker.root_dir}};
  }
  result["toolkit"] = {{"nvidia_runtime", snapshot.toolkit.nvidia_runtime},
                       {"cdi_specs", snapshot.toolkit.cdi_specs},
                       {"nvidia_container_cli", snapshot.toolkit.cli_version}};
  if (snapshot.image) {
    const ImageFacts& image = *snapshot.image;
    const char* origins[] = {"labels", "matrix", "unknown"};
    json spec = nullptr;
    if (image.origin != ImageFacts::Origin::unknown)
      spec = {{"torch", image.spec.torch},          {"cuda", image.spec.cuda},
              {"cudnn", image.spec.cudnn},          {"nccl", image.spec.nccl},
              {"cuda_archs", image.spec.cuda_archs}, {"ptx", image.spec.ptx},
              {"min_driver", image.spec.min_driver}, {"unverified", image.spec.unverified}};
    result["image"] = {{"ref", image.ref},
                       {"present", image.present},
                       {"facts_from", origins[static_cast<int>(image.origin)]},
                       {"spec", spec}};
  }
  return result;
}

} // namespace launcher::doctor
