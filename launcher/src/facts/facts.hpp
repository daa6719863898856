#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.hpp"

namespace launcher::facts {

// One raw answer from the host: a command's output, a file's content or a directory listing.
struct Fact {
  bool recorded = false; // false only when replaying a facts directory that lacks this answer
  int exit_code = 0;     // a command's status; 127 when it is not installed; 1 for an unreadable file
  std::string out;
  std::string err;

  bool ok() const { return recorded && exit_code == 0; }
};

// Where host facts come from: the live host, or a directory saved by `doctor --save-facts`.
// Every question has a file name; it is the key of the answer in a facts directory.
class FactSource {
public:
  virtual ~FactSource() = default;
  virtual Fact command(const std::string& name, const std::vector<std::string>& argv) = 0;
  virtual Fact file(const std::string& name, const std::filesystem::path& path) = 0;
  // The regular files in these directories, one path a line; a missing directory lists nothing.
  virtual Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) = 0;
  // The names of every entry of this directory (devices and links too), sorted, one a line; a
  // missing directory lists nothing.
  virtual Fact names(const std::string& name, const std::filesystem::path& directory) = 0;
  // A question to the container engine, one of its *_query words. Replaying sources answer it as
  // command() does (engine::Engine::query_command); LiveFactSource asks the engine.
  virtual Fact engine(const std::string& name, const engine::Engine& engine, const std::vector<std::string>& query);
};

// Spawns commands (no shell) and reads files of this machine.
class LiveFactSource : public FactSource {
public:
  // How long one command may run (nullopt: as long as it takes); cli sets docker's query limit.
  std::optional<std::chrono::milliseconds> timeout = std::chrono::seconds(30);
  Fact command(const std::string& name, const std::vector<std::string>& argv) override;
  Fact file(const std::string& name, const std::filesystem::path& path) override;
  Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) override;
  Fact names(const std::string& name, const std::filesystem::path& directory) override;
  // Through engine::Engine::ask: the runner and its call limit (this timeout may only shorten it).
  Fact engine(const std::string& name, const engine::Engine& engine, const std::vector<std::string>& query) override;
};

// Replays saved answers: <name> holds the output, <name>.stderr and <name>.exit-code the rest
// when there was any. Earlier directories win, so a host's folder can be completed by another.
class DirectoryFactSource : public FactSource {
public:
  explicit DirectoryFactSource(std::vector<std::filesystem::path> directories);
  Fact command(const std::string& name, const std::vector<std::string>& argv) override;
  Fact file(const std::string& name, const std::filesystem::path& path) override;
  Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) override;
  Fact names(const std::string& name, const std::filesystem::path& directory) override;

private:
  Fact replay(const std::string& name) const;
  std::vector<std::filesystem::path> directories_;
};

// Answers held in memory under their names, for tests and fuzz targets; an absent one is not recorded.
class MemoryFactSource : public FactSource {
public:
  std::map<std::string, Fact> answers;

  Fact command(const std::string& name, const std::vector<std::string>& argv) override;
  Fact file(const std::string& name, const std::filesystem::path& path) override;
  Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) override;
  Fact names(const std::string& name, const std::filesystem::path& directory) override;

private:
  Fact answer(const std::string& name) const;
};

// Passes questions on and keeps every answer, for `doctor --save-facts`.
class RecordingFactSource : public FactSource {
public:
  explicit RecordingFactSource(FactSource& inner) : inner_(inner) {}
  Fact command(const std::string& name, const std::vector<std::string>& argv) override;
  Fact file(const std::string& name, const std::filesystem::path& path) override;
  Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) override;
  Fact names(const std::string& name, const std::filesystem::path& directory) override;
  Fact engine(const std::string& name, const engine::Engine& engine, const std::vector<std::string>& query) override;

  // Writes the answers in DirectoryFactSource's layout; the directory is created if needed.
  void save(const std::filesystem::path& directory) const;

private:
  Fact keep(const std::string& name, Fact fact);
  FactSource& inner_;
  std::map<std::string, Fact> answers_;
};

// The questions the launcher asks about a host, each under the file name that
// tests/fixtures/README.md documents (the NVIDIA ones as in shared/fixtures/gpu).
class HostQueries {
public:
  // The engine's questions are spelled by `engine` and asked of it; it must outlive these.
  HostQueries(FactSource& source, const engine::Engine& engine) : source_(source), engine_(engine) {}
  HostQueries(FactSource& source, const engine::Engine&& engine) = delete; // a temporary dies first

  Fact driver_version();
  Fact nvidia_smi_version();
  Fact gpu_table();
  Fact gpu_list();
  Fact compute_apps();
  Fact gpu_topology();
  Fact toolkit_cli_version();
  Fact cdi_specs();
  // `nvidia-ctk cdi list`: the devices the CDI specs in those directories define, by the same
  // parser the engines use, so that neither YAML nor JSON specs need reading here.
  Fact cdi_device_list();
  // One spec file that cdi_specs listed; a path outside /etc/cdi and /var/run/cdi, or whose file
  // name is not a plain_entry_name, is Error(failed): it comes from a listing.
  Fact cdi_spec(const std::filesystem::path& path);
  Fact docker_version();
  // Podman's record, in its store at `graph_root`, that its storage mounts overlay through a FUSE
  // program ("true"): it keeps a choice made when its own check of the kernel's overlay failed.
  Fact overlay_mount_program_flag(const std::filesystem::path& graph_root);
  Fact docker_info();
  Fact image_labels(const std::string& image);
  Fact container_inspect(const std::string& container);
  Fact container_gpu_list(const std::string& container);
  // A process on a GPU (`launcher gpus`): who runs it, and which container it is in.
  Fact process_status(long pid);
  Fact process_cgroup(long pid);
  Fact passwd_entry(unsigned uid);
  // InfiniBand: the device nodes in /dev/infiniband, the RDMA devices in /sys/class/infiniband, a
  // device's ports and a port's attribute (state, rate, link_layer). A device or port name that is
  // not a plain_entry_name is Error(failed): it comes from a listing and must not leave the directory.
  Fact infiniband_device_nodes();
  Fact rdma_devices();
  Fact rdma_ports(const std::string& device);
  Fact rdma_port_attribute(const std::string& device, const std::string& port, const std::string& attribute);
  // The image's package record (the file `record`, images/scripts/list_packages.py), read by a container of the image
  // that runs only `cat`, with no network, and is removed; an image the engine lacks is not pulled.
  Fact image_package_record(const std::string& image, const std::string& record);

private:
  // Every answer's bytes that are not UTF-8 are written \xNN here, once: parts of answers end up
  // in messages and in doctor --json, which must be UTF-8; the readers then refuse them by name.
  static Fact readable(Fact fact);

  FactSource& source_;
  const engine::Engine& engine_;
};

// A name a directory listing may give that stays in that directory: not empty, ".", "..", and
// only letters, digits, '_', '-', '.' and ':'.
bool plain_entry_name(const std::string& name);

// The query-gpu fields, in the order the parser expects them.
inline constexpr const char* gpu_query_fields =
    "index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,memory.free,utilization.gpu,compute_cap,"
    "temperature.gpu,power.draw,mig.mode.current";

} // namespace launcher::facts
