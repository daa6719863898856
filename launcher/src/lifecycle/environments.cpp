#include "lifecycle/environments.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "core/error.hpp"
#include "core/text.hpp"
#include "lifecycle/inspect.hpp"
#include "plan/resolve.hpp"
#include "render/render.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

std::optional<json> find_environment(const docker::Docker& docker, const std::string& env) {
  auto found = docker.containers_labelled(std::string(render::label_env) + "=" + env);
  if (found.empty()) return std::nullopt;
  return found.front();
}

json require_environment(const docker::Docker& docker, const std::string& env) {
  auto container = find_environment(docker, env);
  if (!container) throw Error(ExitCode::failed, "no environment \"" + env + "\" (`launcher ps` lists them)");
  return *container;
}

std::string choose_environment(const docker::Docker& docker, const std::optional<std::string>& given,
                               const host::HostFacts& host) {
  if (given) return *given;
  // Environments made here are named "<directory>-<profile>".
  std::string prefix = plan::default_env_name(host.cwd, "");
  std::vector<std::string> here;
  for (const auto& container : docker.containers_labelled(render::label_env))
    if (starts_with(env_of(container), prefix)) here.push_back(env_of(container));
  if (here.size() == 1) return here.front();
  std::string names;
  for (const auto& name : here) names += (names.empty() ? "" : ", ") + name;
  throw Error(ExitCode::usage, here.empty() ? "no environment was made from this directory; name one (`launcher ps` lists them)"
                                            : "several environments were made from this directory (" + names + "); name one");
}

void refuse_unsaved_files(const docker::Docker& docker, const json& container, bool force) {
  if (force) return;
  std::string name = name_of(container);
  std::string user = env_variable(container, "LAUNCHER_USER");
  std::vector<std::string> roots{user.empty() || user == "root" ? "/root" : "/home/" + user};
  std::string workdir = env_variable(container, "LAUNCHER_WORKDIR");
  if (!workdir.empty()) roots.push_back(workdir);
  std::vector<std::string> mounts = mount_targets_of(container);
  constexpr std::size_t shown = 20;
  auto lost = unsaved_paths(docker.run({"diff", name}, "list changed files of " + name).out, roots, mounts, shown);
  if (lost.empty()) return;
  std::string list;
  for (const auto& path : lost) list += "\n  " + path;
  throw Error(ExitCode::failed,
              "environment \"" + env_of(container) + "\" has files outside its volumes that removing the container would lose " +
                  "(up to " + std::to_string(shown) + " shown):" + list +
                  "\nkeep them with `docker cp " + name + ":PATH .` or by moving them onto a volume " +
                  "(`launcher exec " + env_of(container) + " -- mv PATH " + (workdir.empty() ? "/a/volume" : workdir) +
                  "/`), or discard them with --force");
}

void stop_and_remove(const docker::Docker& docker, const json& container, std::chrono::seconds timeout) {
  std::string name = name_of(container);
  if (is_running(container)) docker.run({"stop", "--time", std::to_string(timeout.count()), name}, "stop " + name);
  docker.run({"rm", name}, "remove " + name);
}

EnvironmentLock::EnvironmentLock(const std::filesystem::path& state_home, const std::string& env, std::ostream& notices) {
  std::filesystem::path envs_dir = secrets::state_layout(env, state_home).env_dir.parent_path();
  secrets::ensure_private_dir(envs_dir);
  std::filesystem::path path = envs_dir / ("." + env + ".lock");
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(ExitCode::failed, "failed to open lock: " + path.string() + ": " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  notices << "another launcher is working on environment \"" << env << "\"; waiting for it to finish\n" << std::flush;
  while (flock(fd_, LOCK_EX) != 0)
    if (errno != EINTR) throw Error(ExitCode::failed, "failed to lock: " + path.string() + ": " + std::strerror(errno));
}

EnvironmentLock::~EnvironmentLock() {
  if (fd_ >= 0) close(fd_); // closing releases the flock
}

} // namespace launcher::lifecycle
