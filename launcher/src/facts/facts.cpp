#include "facts/facts.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/text.hpp"
#include "process/process.hpp"

namespace launcher::facts {

namespace fs = std::filesystem;

namespace {

// Where CDI specs live (the CDI default directories, which nvidia-ctk and the engines read).
constexpr std::array<const char*, 2> cdi_spec_directories{"/etc/cdi", "/var/run/cdi"};

const std::string& plain(const std::string& name, const std::string& what) {
  if (!plain_entry_name(name))
    throw Error(ExitCode::failed,
                "refusing the " + what + " name " + quote_for_message(name) + ": not a plain directory entry name");
  return name;
}

void write_whole(const fs::path& path, const std::string& text) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << text;
  if (!stream.flush()) throw Error(ExitCode::failed, "failed to write " + path.string() + ": " + std::strerror(errno));
}

// "<name>.exit-code" holds a command's status, 0-255, and a newline.
int parse_exit_code(const fs::path& path) {
  std::string text = read_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  int code = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || code < 0 || code > 255)
    throw Error(ExitCode::usage, path.string() + ": expected an exit status 0-255, found " + quote_for_message(text));
  return code;
}

// What a spawned command answered; a command that timed out (124) or could not start (127) is
// an answer too ("no nvidia-smi"), not a reason to stop.
Fact answer_of(const std::function<process::ProcessResult()>& spawn) {
  try {
    process::ProcessResult result = spawn();
    return {true, result.exit_code, std::move(result.out), std::move(result.err)};
  } catch (const process::Interrupted&) {
    throw;
  } catch (const process::TimedOut& error) {
    return {true, 124, "", error.what()};
  } catch (const Error& error) {
    return {true, 127, "", error.what()};
  }
}

} // namespace

Fact FactSource::engine(const std::string& name, const engine::Engine& engine, const std::vector<std::string>& query) {
  return command(name, engine.query_command(query));
}

Fact LiveFactSource::command(const std::string&, const std::vector<std::string>& argv) {
  // A hung nvidia-smi or `docker info` must not hang the command that asked.
  process::ProcessOptions options;
  options.timeout = timeout;
  return answer_of([&] { return process::run_process(argv, options); });
}

Fact LiveFactSource::engine(const std::string&, const engine::Engine& engine, const std::vector<std::string>& query) {
  process::ProcessOptions options;
  options.timeout = timeout;
  return answer_of([&] { return engine.ask(query, options); });
}

Fact LiveFactSource::file(const std::string&, const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) return {true, 1, "", path.string() + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << stream.rdbuf();
  return {true, 0, text.str(), ""};
}

Fact LiveFactSource::listing(const std::string&, const std::vector<fs::path>& directories) {
  Fact fact{true, 0, "", ""};
  for (const auto& directory : directories) {
    std::error_code error;
    for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error))
      if (it->is_regular_file()) fact.out += it->path().string() + "\n";
  }
  return fact;
}

Fact LiveFactSource::names(const std::string&, const fs::path& directory) {
  std::vector<std::string> found;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error))
    found.push_back(it->path().filename().string());
  std::sort(found.begin(), found.end());
  Fact fact{true, 0, "", ""};
  for (const auto& name : found)
    fact.out += name + "\n";
  return fact;
}

DirectoryFactSource::DirectoryFactSource(std::vector<fs::path> directories) : directories_(std::move(directories)) {}

Fact DirectoryFactSource::replay(const std::string& name) const {
  for (const auto& directory : directories_) {
    fs::path output = directory / name, err = directory / (name + ".stderr"), code = directory / (name + ".exit-code");
    if (!fs::exists(output) && !fs::exists(err) && !fs::exists(code)) continue;
    Fact fact{true, 0, "", ""};
    fact.out = read_file_if_present(output).value_or("");
    fact.err = read_file_if_present(err).value_or("");
    if (fs::exists(code)) fact.exit_code = parse_exit_code(code);
    return fact;
  }
  return {};
}

Fact DirectoryFactSource::command(const std::string& name, const std::vector<std::string>&) { return replay(name); }
Fact DirectoryFactSource::file(const std::string& name, const fs::path&) { return replay(name); }
Fact DirectoryFactSource::listing(const std::string& name, const std::vector<fs::path>&) { return replay(name); }
Fact DirectoryFactSource::names(const std::string& name, const fs::path&) { return replay(name); }

Fact MemoryFactSource::answer(const std::string& name) const {
  auto found = answers.find(name);
  return found == answers.end() ? Fact{} : found->second;
}

Fact MemoryFactSource::command(const std::string& name, const std::vector<std::string>&) { return answer(name); }
Fact MemoryFactSource::file(const std::string& name, const fs::path&) { return answer(name); }
Fact MemoryFactSource::listing(const std::string& name, const std::vector<fs::path>&) { return answer(name); }
Fact MemoryFactSource::names(const std::string& name, const fs::path&) { return answer(name); }

Fact RecordingFactSource::keep(const std::string& name, Fact fact) {
  answers_[name] = fact;
  return fact;
}

Fact RecordingFactSource::command(const std::string& name, const std::vector<std::string>& argv) {
  return keep(name, inner_.command(name, argv));
}
Fact RecordingFactSource::file(const std::string& name, const fs::path& path) {
  return keep(name, inner_.file(name, path));
}
Fact RecordingFactSource::listing(const std::string& name, const std::vector<fs::path>& directories) {
  return keep(name, inner_.listing(name, directories));
}

Fact RecordingFactSource::names(const std::string& name, const fs::path& directory) {
  return keep(name, inner_.names(name, directory));
}

Fact RecordingFactSource::engine(const std::string& name, const engine::Engine& engine,
                                 const std::vector<std::string>& query) {
  return keep(name, inner_.engine(name, engine, query));
}

void RecordingFactSource::save(const fs::path& directory) const {
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) throw Error(ExitCode::failed, "failed to create " + directory.string() + ": " + error.message());
  for (const auto& [name, fact] : answers_) {
    if (!fact.recorded) continue;
    if (fact.exit_code == 0 || !fact.out.empty()) write_whole(directory / name, fact.out);
    if (!fact.err.empty()) write_whole(directory / (name + ".stderr"), fact.err);
    if (fact.exit_code != 0) write_whole(directory / (name + ".exit-code"), std::to_string(fact.exit_code) + "\n");
  }
}

Fact HostQueries::readable(Fact fact) {
  fact.out = escape_invalid_utf8(fact.out);
  fact.err = escape_invalid_utf8(fact.err);
  return fact;
}

Fact HostQueries::driver_version() {
  return readable(source_.file("proc-driver-nvidia-version.txt", "/proc/driver/nvidia/version"));
}

Fact HostQueries::nvidia_smi_version() {
  return readable(source_.command("nvidia-smi-version.txt", {"nvidia-smi", "--version"}));
}

Fact HostQueries::gpu_table() {
  return readable(
      source_.command("nvidia-smi-query-gpu.csv",
                      {"nvidia-smi", std::string("--query-gpu=") + gpu_query_fields, "--format=csv,noheader,nounits"}));
}

Fact HostQueries::gpu_topology() {
  return readable(source_.command("nvidia-smi-topo-m.txt", {"nvidia-smi", "topo", "-m"}));
}

Fact HostQueries::gpu_list() { return readable(source_.command("nvidia-smi-L.txt", {"nvidia-smi", "-L"})); }

Fact HostQueries::compute_apps() {
  return readable(source_.command("nvidia-smi-query-compute-apps.csv",
                                  {"nvidia-smi", "--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv"}));
}

Fact HostQueries::toolkit_cli_version() {
  return readable(source_.command("nvidia-container-cli-version.txt", {"nvidia-container-cli", "--version"}));
}

Fact HostQueries::cdi_specs() {
  return readable(source_.listing("cdi-specs.txt",
                                  std::vector<fs::path>(cdi_spec_directories.begin(), cdi_spec_directories.end())));
}

Fact HostQueries::cdi_device_list() {
  return readable(source_.command("nvidia-ctk-cdi-list.txt", {"nvidia-ctk", "cdi", "list"}));
}

Fact HostQueries::cdi_spec(const fs::path& path) {
  for (const char* directory : cdi_spec_directories) {
    if (path.parent_path() != fs::path(directory)) continue;
    // "/var/run/cdi/nvidia.yaml" is saved as cdi-spec-var-run-cdi-nvidia.yaml.
    std::string name = "cdi-spec";
    for (const auto& part : fs::path(directory).relative_path())
      name += "-" + part.string();
    name += "-" + plain(path.filename().string(), "CDI spec");
    return readable(source_.file(name, path));
  }
  throw Error(ExitCode::failed,
              "refusing the CDI spec " + quote_for_message(path.string()) + ": not in /etc/cdi or /var/run/cdi");
}

Fact HostQueries::docker_version() {
  return readable(source_.engine("docker-version.json", engine_, engine_.version_query()));
}

Fact HostQueries::overlay_mount_program_flag(const fs::path& graph_root) {
  return readable(source_.file("podman-overlay-has-mount-program.txt", graph_root / "overlay" / ".has-mount-program"));
}

Fact HostQueries::docker_info() { return readable(source_.engine("docker-info.json", engine_, engine_.info_query())); }

Fact HostQueries::image_labels(const std::string& image) {
  return readable(source_.engine("docker-image-labels.json", engine_, engine_.image_labels_query(image)));
}

Fact HostQueries::container_inspect(const std::string& container) {
  return readable(source_.engine("docker-container-inspect.json", engine_, engine_.container_inspect_query(container)));
}

Fact HostQueries::container_gpu_list(const std::string& container) {
  return readable(
      source_.engine("docker-exec-nvidia-smi-L.txt", engine_, engine_.exec_query(container, {"nvidia-smi", "-L"})));
}

Fact HostQueries::process_status(long pid) {
  std::string id = std::to_string(pid);
  return readable(source_.file("proc-" + id + "-status.txt", "/proc/" + id + "/status"));
}

Fact HostQueries::process_cgroup(long pid) {
  std::string id = std::to_string(pid);
  return readable(source_.file("proc-" + id + "-cgroup.txt", "/proc/" + id + "/cgroup"));
}

Fact HostQueries::passwd_entry(unsigned uid) {
  std::string id = std::to_string(uid);
  return readable(source_.command("getent-passwd-" + id + ".txt", {"getent", "passwd", id}));
}

bool plain_entry_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && std::all_of(name.begin(), name.end(), [](char c) {
    return is_ascii_alphanumeric(c) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

namespace {

const fs::path sys_class_infiniband = "/sys/class/infiniband";

} // namespace

Fact HostQueries::infiniband_device_nodes() { return readable(source_.names("dev-infiniband.txt", "/dev/infiniband")); }

Fact HostQueries::rdma_devices() { return readable(source_.names("sys-class-infiniband.txt", sys_class_infiniband)); }

Fact HostQueries::rdma_ports(const std::string& device) {
  const std::string& name = plain(device, "RDMA device");
  return readable(source_.names("sys-class-infiniband-" + name + "-ports.txt", sys_class_infiniband / name / "ports"));
}

Fact HostQueries::rdma_port_attribute(const std::string& device, const std::string& port,
                                      const std::string& attribute) {
  const std::string& name = plain(device, "RDMA device");
  const std::string& number = plain(port, "RDMA port");
  return readable(
      source_.file("sys-class-infiniband-" + name + "-ports-" + number + "-" + plain(attribute, "attribute") + ".txt",
                   sys_class_infiniband / name / "ports" / number / attribute));
}

Fact HostQueries::image_package_record(const std::string& image, const std::string& record) {
  return readable(source_.engine("docker-image-packages.json", engine_, engine_.read_image_file_query(image, record)));
}

} // namespace launcher::facts
