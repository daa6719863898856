#include "host/host_facts.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::host {

namespace fs = std::filesystem;

namespace {

// The NVIDIA kernel driver lists one directory per GPU here; no process needs to start.
int count_nvidia_gpus() {
  std::error_code error;
  int count = 0;
  for (fs::directory_iterator it("/proc/driver/nvidia/gpus", error), end; !error && it != end; it.increment(error))
    ++count;
  return count;
}

// dockerd raises a container's limits itself: it can give "unlimited" when it holds
// CAP_SYS_RESOURCE or its own hard limit is unlimited. An unreadable daemon is assumed able.
std::optional<long long> docker_memlock_ceiling() {
  std::ifstream pid_file("/var/run/docker.pid");
  std::string pid;
  if (!std::getline(pid_file, pid) || pid.empty()) return std::nullopt;
  std::ifstream status("/proc/" + pid + "/status");
  constexpr unsigned long long cap_sys_resource = 1ULL << 24;
  for (std::string line; std::getline(status, line);)
    if (line.rfind("CapEff:", 0) == 0 && (std::stoull(line.substr(7), nullptr, 16) & cap_sys_resource))
      return std::nullopt;
  std::ifstream limits("/proc/" + pid + "/limits");
  for (std::string line; std::getline(limits, line);) {
    if (line.rfind("Max locked memory", 0) != 0) continue;
    std::istringstream fields(line.substr(17));
    std::string soft, hard;
    fields >> soft >> hard;
    if (hard == "unlimited" || hard.empty()) return std::nullopt;
    return std::stoll(hard);
  }
  return std::nullopt;
}

// A one-line sysfs list ("0-15"); `fallback` where the kernel has no such file.
std::string sysfs_list(const char* path, const std::string& fallback) {
  std::string line;
  std::ifstream file(path);
  return std::getline(file, line) && !line.empty() ? line : fallback;
}

// A decimal id 0-2147483647 (what a profile's "user" takes), or an Error naming the variable.
unsigned sudo_id(const char* variable, const std::string& value) {
  bool digits = !value.empty() && value.size() <= 10 && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoull(value) > 2147483647ULL)
    throw Error(ExitCode::usage, std::string(variable) + "=" + quote_for_message(value) +
                                     " is not an id 0-2147483647 (sudo sets it to the id of who ran it); unset it or "
                                     "correct it");
  return static_cast<unsigned>(std::stoull(value));
}

} // namespace

std::optional<SudoInvoker> sudo_invoker(unsigned uid, const char* sudo_uid, const char* sudo_gid,
                                        const std::function<std::optional<std::string>(unsigned)>& name_of) {
  if (uid != 0 || (!sudo_uid && !sudo_gid)) return std::nullopt;
  if (!sudo_uid || !sudo_gid)
    throw Error(ExitCode::usage, std::string(sudo_uid ? "SUDO_UID" : "SUDO_GID") + " is set but " +
                                     (sudo_uid ? "SUDO_GID" : "SUDO_UID") +
                                     " is not (sudo sets both); unset it or set the other");
  SudoInvoker invoker{sudo_id("SUDO_UID", sudo_uid), sudo_id("SUDO_GID", sudo_gid), ""};
  if (invoker.uid == 0) return std::nullopt; // root ran sudo: the person is root
  invoker.name = name_of(invoker.uid).value_or("user");
  return invoker;
}

HostFacts read_host_facts() {
  HostFacts facts;
  facts.uid = getuid();
  facts.gid = getgid();
  const passwd* entry = getpwuid(facts.uid);
  facts.user_name = entry ? entry->pw_name : "user";
  // HOME names the secrets mount's source and the state directory: a relative one would be
  // taken from wherever the launcher runs, and a missing one would be created.
  const char* home = std::getenv("HOME");
  facts.home = home && *home ? fs::path(home) : fs::path(entry ? entry->pw_dir : "/");
  if (!facts.home.is_absolute())
    throw Error(ExitCode::usage, "HOME=" + quote_for_message(facts.home.string()) + " is not an absolute path");
  std::error_code error;
  if (!fs::is_directory(facts.home, error))
    throw Error(ExitCode::usage, "HOME=" + quote_for_message(facts.home.string()) + " is not an existing directory");
  const char* state_home = std::getenv("XDG_STATE_HOME");
  if (state_home && *state_home && !fs::path(state_home).is_absolute())
    throw Error(ExitCode::usage, "XDG_STATE_HOME=" + quote_for_message(state_home) +
                                     " is not an absolute path; unset it or make it one");
  facts.state_home = state_home && *state_home ? fs::path(state_home) : facts.home / ".local/state";
  facts.cwd = working_directory();
  facts.memory_bytes =
      static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  facts.gpu_count = count_nvidia_gpus();
  if (const char* runtime = std::getenv(gpu_runtime_variable); runtime && *runtime)
    facts.gpu_runtime = {parse_gpu_runtime(runtime, gpu_runtime_variable), gpu_runtime_variable};
  long cpus = sysconf(_SC_NPROCESSORS_CONF);
  facts.online_cpus = sysfs_list("/sys/devices/system/cpu/online", cpus > 1 ? "0-" + std::to_string(cpus - 1) : "0");
  facts.numa_nodes = sysfs_list("/sys/devices/system/node/online", "0");
  facts.memlock_ceiling = docker_memlock_ceiling();
  facts.sudo_invoker = sudo_invoker(facts.uid, std::getenv("SUDO_UID"), std::getenv("SUDO_GID"), [](unsigned uid) {
    const passwd* invoker = getpwuid(uid);
    return invoker ? std::optional<std::string>(invoker->pw_name) : std::nullopt;
  });
  return facts;
}

PathProbe real_path_probe() {
  return PathProbe{
      [](const fs::path& path) {
        std::error_code error;
        return fs::exists(path, error);
      },
      [](const fs::path& path) {
        std::error_code error;
        fs::path canonical = fs::canonical(path, error);
        return error ? path : canonical;
      },
      [](const fs::path& path) -> std::optional<FileFacts> {
        struct stat info {};
        if (lstat(path.c_str(), &info) != 0) return std::nullopt;
        return FileFacts{info.st_uid, info.st_mode};
      },
  };
}

fs::path mount_source_path(const fs::path& source, const PathProbe& paths) {
  fs::path existing = source, rest;
  while (!paths.exists(existing) && existing.has_relative_path()) {
    rest = rest.empty() ? existing.filename() : existing.filename() / rest;
    existing = existing.parent_path();
  }
  fs::path real = paths.canonical(existing);
  return rest.empty() ? real : (real / rest).lexically_normal();
}

fs::path working_directory() {
  std::error_code error;
  fs::path cwd = fs::current_path(error);
  if (!error) return cwd;
  if (error.value() == ENOENT)
    throw Error(ExitCode::failed, "the working directory no longer exists (it was deleted or moved away since the "
                                  "shell entered it); cd to an existing directory and run the command again");
  throw Error(ExitCode::failed, "cannot tell the working directory: " + error.message());
}

} // namespace launcher::host
