#include "render/render.hpp"

#include <cstdio>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "host/gpu_runtime.hpp"
#include "launcher_contract/contract.hpp"

namespace launcher::render {

namespace {

// --mount is parsed as CSV: a field holding a comma or a quote must be quoted itself.
std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string bind_mount_value(const std::string& source, const std::string& target, bool read_only) {
  return "type=bind," + csv_field("src=" + source) + "," + csv_field("dst=" + target) + (read_only ? ",readonly" : "");
}

std::string publish_value(const plan::PortBinding& port) {
  std::string address = port.bind.find(':') != std::string::npos ? "[" + port.bind + "]" : port.bind;
  std::string host = port.host_port ? std::to_string(*port.host_port) : "";
  return address + ":" + host + ":" + std::to_string(port.container_port) + "/" + plan::name(port.protocol);
}

std::string device_list(const plan::GpuAssignment& gpus) {
  std::string list;
  for (const auto& device : gpus.devices)
    list += (list.empty() ? "" : ",") + device;
  return list;
}

std::string gpus_value(const plan::GpuAssignment& gpus) {
  if (gpus.kind == plan::GpuAssignment::Kind::all) return "all";
  // The literal double quotes are required: unquoted, Docker reads "device=0,1" as GPU 0 only.
  return "\"device=" + device_list(gpus) + "\"";
}

// launcher-init starts as root to create the user, chown its home and drop to it, and must
// signal children running as that user; sshd's privilege separation chroots; sudo audits.
// Debian's sshd ends every PTY login whose audit record it cannot write (no sshd_config option
// turns that off), so the ssh service needs AUDIT_WRITE too.
std::vector<std::string> capabilities(const plan::Plan& plan) {
  std::vector<std::string> caps{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"};
  if (plan.service == plan::Service::ssh) caps.push_back("SYS_CHROOT");
  if (plan.service == plan::Service::ssh || plan.user.sudo) caps.push_back("AUDIT_WRITE");
  return caps;
}

std::string format_cpus(double cpus) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", cpus);
  return buffer;
}

} // namespace

std::string gpus_label(const plan::GpuAssignment& gpus) {
  switch (gpus.kind) {
  case plan::GpuAssignment::Kind::none:
    return "none";
  case plan::GpuAssignment::Kind::all:
    return "all";
  case plan::GpuAssignment::Kind::devices:
    return device_list(gpus);
  }
  return "none";
}

std::vector<std::string> cdi_devices(const plan::GpuAssignment& gpus) {
  if (gpus.kind == plan::GpuAssignment::Kind::all) return {*host::cdi_device_name("all")};
  std::vector<std::string> names;
  for (const auto& device : gpus.devices) {
    auto name = host::cdi_device_name(device);
    if (!name) throw Error(ExitCode::usage, "GPU " + quote_for_message(device) + " has no CDI device name");
    names.push_back(*name);
  }
  return names;
}

ContainerCommand render_container_command(const plan::Plan& plan, const std::string& env_file) {
  ContainerCommand command{{}, {}, {}, plan.environment};
  auto option = [&](const char* name, const std::string& value) { command.options.push_back({name, value}); };
  option("--name", plan.env);
  // Never a pull behind the user's back: a missing image is an error saying how to get it.
  option("--pull", "never");
  option("--label", std::string(contract::label::env) + "=" + plan.env);
  option("--label", std::string(contract::label::profile) + "=" + plan.profile);
  option("--label", std::string(contract::label::plan_hash) + "=" + plan::plan_hash(plan));
  option("--label", std::string(contract::label::gpus) + "=" + gpus_label(plan.gpus));
  if (plan.backup) option("--label", std::string(contract::label::backup) + "=" + plan.backup->repository);
  for (const auto& [key, value] : plan.labels)
    option("--label", key + "=" + value);
  option("--network", plan.network);
  // Docker Desktop's name for the host, on every engine: a store on the host (MinIO, Ceph, moto)
  // is "http://host.docker.internal:PORT" from inside, as Desktop users already write it.
  option("--add-host", std::string(host_gateway_alias) + ":host-gateway");

  // A shell service is a login shell that must outlive `docker run -d`: it needs a terminal.
  if (plan.service == plan::Service::shell)
    command.options.push_back({"--interactive"}), command.options.push_back({"--tty"});
  // The CUDA images say NVIDIA_VISIBLE_DEVICES=all, which a host whose default runtime is nvidia
  // would honour without --gpus: an env without GPUs says none, explicitly, and so does one whose
  // GPUs come from the CDI spec alone (the spec's own edits say the same since toolkit 1.15).
  bool has_gpus = plan.gpus.kind != plan::GpuAssignment::Kind::none;
  if (has_gpus && plan.gpu_runtime == host::GpuRuntime::nvidia)
    option("--gpus", gpus_value(plan.gpus));
  else
    option("--env", "NVIDIA_VISIBLE_DEVICES=void");
  if (has_gpus && plan.gpu_runtime == host::GpuRuntime::cdi)
    for (const auto& device : cdi_devices(plan.gpus))
      option("--device", device);

  // Who and what launcher-init sets up inside; none of these is a secret.
  auto setting = [&](const char* name, const std::string& value) { option("--env", std::string(name) + "=" + value); };
  setting(contract::env::service, plan::name(plan.service));
  setting(contract::env::uid, std::to_string(plan.user.uid));
  setting(contract::env::gid, std::to_string(plan.user.gid));
  setting(contract::env::user, plan.user.name);
  if (!plan.workdir.empty()) setting(contract::env::workdir, plan.workdir);
  if (plan.user.sudo) setting(contract::env::sudo, "1");
  if (plan.read_only_root) setting(contract::env::read_only_root, "1");
  const plan::SshForwarding& forwarding = plan.access.ssh_forwarding;
  if (forwarding.agent) setting(contract::env::ssh_agent_forwarding, "1");
  if (forwarding.stream_local) setting(contract::env::ssh_stream_local_forwarding, "1");
  if (forwarding.user_rc) setting(contract::env::ssh_user_rc, "1");
  const plan::SelfStop& stop = plan.self_stop;
  if (stop.idle_seconds) {
    setting(contract::env::idle_stop_after, std::to_string(*stop.idle_seconds));
    setting(contract::env::idle_gpu_util_below, std::to_string(stop.idle_gpu_util_below));
  }
  if (stop.max_age_seconds) setting(contract::env::max_age, std::to_string(*stop.max_age_seconds));
  if (plan.backup) {
    const plan::Backup& backup = *plan.backup;
    setting(contract::env::backup_to, backup.repository);
    setting(contract::env::backup_paths, nlohmann::json(backup.paths).dump());
    setting(contract::env::backup_every, std::to_string(backup.every_seconds));
    setting(contract::env::backup_keep, std::to_string(backup.keep));
    if (!backup.endpoint.empty()) setting(contract::env::backup_endpoint, backup.endpoint);
  }
  if (!plan.environment.empty()) option("--env-file", env_file);
  if (!plan.workdir.empty()) option("--workdir", plan.workdir);

  for (const auto& port : plan.ports)
    option("--publish", publish_value(port));
  for (const auto& mount : plan.mounts)
    option("--mount", bind_mount_value(mount.source, mount.target, mount.read_only));

  // A read-only root keeps what the services write on tmpfs: sshd's /run/sshd, the user's home.
  if (plan.read_only_root) {
    command.options.push_back({"--read-only"});
    option("--tmpfs", "/tmp:rw,nosuid,nodev,mode=1777");
    option("--tmpfs", "/run:rw,nosuid,nodev,mode=0755");
    option("--tmpfs", "/home:rw,nosuid,nodev,mode=0755");
  }
  // Jupyter writes its token into runtime files: they live on a tmpfs, never on a volume.
  option("--tmpfs", std::string(contract::mount::runtime_dir) + ":rw,nosuid,nodev,noexec,mode=0755");
  // The only way a secret enters the container: this read-only bind mount, below a directory
  // that launcher-init makes root-only. Named for launcher-init, so that an image older than this
  // mount point still finds it.
  if (!plan.access.secrets_dir.empty()) {
    option("--mount", bind_mount_value(plan.access.secrets_dir, contract::mount::secrets_dir, true));
    setting(contract::env::secrets_dir, contract::mount::secrets_dir);
  }

  option("--cap-drop", "ALL");
  for (const auto& cap : capabilities(plan))
    option("--cap-add", cap);
  if (!plan.user.sudo) option("--security-opt", "no-new-privileges");

  option("--shm-size", format_docker_size(plan.shm_size_bytes));
  if (plan.ipc != plan::Ipc::engine_default) option("--ipc", plan::name(plan.ipc));
  for (const auto& limit : plan.ulimits)
    option("--ulimit", limit.name + "=" + std::to_string(limit.soft) + ":" + std::to_string(limit.hard));
  if (plan.cpus) option("--cpus", format_cpus(*plan.cpus));
  if (plan.memory_bytes) {
    option("--memory", format_docker_size(*plan.memory_bytes));
    // Equal to --memory: no swap on top, so a runaway env is OOM-killed instead of thrashing the host.
    option("--memory-swap", format_docker_size(*plan.memory_bytes));
  }
  option("--cpu-shares", std::to_string(plan.cpu_shares));
  if (!plan.cpuset_cpus.empty()) option("--cpuset-cpus", plan.cpuset_cpus);
  if (!plan.cpuset_mems.empty()) option("--cpuset-mems", plan.cpuset_mems);
  if (plan.pids_limit) option("--pids-limit", std::to_string(*plan.pids_limit));
  if (plan.restart.policy != plan::Restart::Policy::no) option("--restart", plan::name(plan.restart));
  if (plan.privileged) command.options.push_back({"--privileged"});

  command.image_and_command.push_back(plan.image);
  command.image_and_command.insert(command.image_and_command.end(), plan.command.begin(), plan.command.end());
  return command;
}

std::string env_file_text(const std::map<std::string, std::string>& environment) {
  std::string text;
  for (const auto& [name, value] : environment)
    text += name + "=" + value + "\n";
  return text;
}

std::vector<std::string> ContainerCommand::argv() const {
  std::vector<std::string> argv = program;
  for (const auto& option : options)
    argv.insert(argv.end(), option.begin(), option.end());
  argv.insert(argv.end(), image_and_command.begin(), image_and_command.end());
  return argv;
}

std::string ContainerCommand::display() const {
  std::string text;
  if (!environment.empty()) {
    std::string names;
    for (const auto& [name, value] : environment)
      names += (names.empty() ? "" : " ") + name;
    text = "# --env-file holds the values of " + names +
           " (written with mode 0600 by `launcher up` and removed once docker run has read it)\n";
  }
  text += shell_words(program);
  for (const auto& option : options)
    text += " \\\n    " + shell_words(option);
  return text + " \\\n    " + shell_words(image_and_command);
}

std::string shell_quote(const std::string& argument) {
  if (!argument.empty() &&
      argument.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") ==
          std::string::npos)
    return argument;
  std::string quoted = "'";
  for (char c : argument)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string shell_words(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words)
    line += (line.empty() ? "" : " ") + shell_quote(word);
  return line;
}

} // namespace launcher::render
