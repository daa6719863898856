#include "lifecycle/environments.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"
#include "host/state_layout.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/unsaved.hpp"
#include "plan/resolve.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

std::optional<json> find_environment(const engine::Engine& engine, const std::string& env) {
  auto found = engine.containers_labelled(std::string(contract::label::env) + "=" + env);
  if (found.empty()) return std::nullopt;
  return found.front();
}

json require_environment(const engine::Engine& engine, const std::string& env) {
  auto container = find_environment(engine, env);
  if (!container) throw Error(ExitCode::failed, "no environment \"" + env + "\" (`launcher ps` lists them)");
  return *container;
}

EnvName choose_environment(const engine::Engine& engine, const std::optional<std::string>& given,
                           const host::HostFacts& host) {
  if (given) return EnvName::parse(*given);
  // Only an env whose label records this very directory: a name alone could be another
  // project's (two directories may render alike, or one may be named like another's env).
  std::string directory = host.cwd.lexically_normal().string();
  std::vector<std::string> here, elsewhere;
  for (const auto& container : engine.containers_labelled(contract::label::env)) {
    std::string env = env_of(container);
    if (env.empty()) continue;
    if (project_dir_of(container) == directory)
      here.push_back(env);
    else if (project_dir_of(container).empty() && starts_with(env, plan::default_env_name(host.cwd, "")))
      elsewhere.push_back(env);
  }
  auto list = [](const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names)
      text += (text.empty() ? "" : ", ") + name;
    return text;
  };
  if (here.size() == 1) return EnvName::parse(here.front());
  if (!here.empty())
    throw Error(ExitCode::usage, "several environments were made from this directory (" + list(here) + "); name one");
  if (!elsewhere.empty())
    throw Error(ExitCode::usage, "no environment records this directory as its project; " + list(elsewhere) +
                                     " may be from here (made by an older launcher): name it");
  throw Error(ExitCode::usage, "no environment was made from this directory; name one (`launcher ps` lists them)");
}

UnsavedWork find_unsaved_work(const engine::Engine& engine, const json& container) {
  std::string name = name_of(container);
  std::string user = env_variable(container, contract::env::user);
  std::string home = user.empty() || user == "root" ? "/root" : "/home/" + user;
  std::string workdir = env_variable(container, contract::env::workdir);
  std::vector<std::string> mounts = mount_targets_of(container);
  std::string diff = engine.changed_files(name);
  // Packages are compared only where the image recorded its own and the container runs to list
  // them; otherwise their files still count, as files.
  std::optional<PackageListing> built, current;
  if (is_running(container)) {
    auto recorded = engine.exec(name, {}, {"cat", package_record});
    if (recorded.exit_code == 0) {
      built = parse_package_listing(recorded.out, "`" + std::string(engine.name()) + " exec " + name + " cat " +
                                                      package_record + "`");
      std::string uid = env_variable(container, contract::env::uid);
      // As the env's user, so that its own site-packages (pip install --user) are seen.
      auto listed = engine.exec_checked(name, {uid.empty() ? "0" : uid, ""}, {"python3", package_lister},
                                        "list the packages of " + name);
      current = parse_package_listing(listed.out, "`" + std::string(engine.name()) + " exec " + name + " python3 " +
                                                      package_lister + "`");
    }
  }
  return unsaved_work(diff, mounts, home, workdir, built, current);
}

void refuse_unsaved_work(const engine::Engine& engine, const json& container, const std::string& discard,
                         const UnsavedReport& report) {
  UnsavedWork work = find_unsaved_work(engine, container);
  if (!work.empty())
    throw Error(ExitCode::failed,
                unsaved_work_message(env_of(container), work, env_variable(container, contract::env::workdir), discard,
                                     report));
}

void stop_and_remove(const engine::Engine& engine, const json& container, std::chrono::seconds timeout) {
  std::string name = name_of(container);
  if (is_running(container)) engine.stop(name, timeout);
  engine.remove(name);
}

namespace {

// The envs' own networks whose environment has no container, running or stopped: left by a
// container removed with `docker rm`, they hold address ranges Docker may run out of.
std::vector<std::string> networks_without_environment(const engine::Engine& engine) {
  const std::string env_label = contract::label::env;
  std::set<std::string> in_use;
  for (const auto& container : engine.list_labelled(env_label, {env_label}))
    in_use.insert(plan::own_network(container.labels.at(env_label)));
  std::vector<std::string> unused;
  for (const auto& name : engine.networks_labelled(env_label))
    if (!in_use.count(name)) unused.push_back(name);
  return unused;
}

} // namespace

engine::NetworkSpec network_spec(const plan::Plan& plan) {
  bool own = plan.network == plan::own_network(plan.env);
  engine::NetworkSpec network{plan.network, {}, own};
  if (own)
    network.labels[contract::label::env] = plan.env;
  else
    network.labels[contract::label::network] = "shared";
  return network;
}

exporting::Engine export_target(const engine::Engine& engine, const plan::Plan& plan, exporting::Engine target) {
  engine::NetworkSpec network = network_spec(plan);
  target.isolated_network_options = engine.network_driver_options(network);
  target.network_exists_command = engine.network_exists_command(network.name);
  target.network_create_command = engine.create_network_command(network);
  target.container = engine.container_command(engine::Launch::created, plan, exporting::rendered_env_file);
  return target;
}

bool ensure_network(const engine::Engine& engine, const plan::Plan& plan) {
  auto exists = [&] { return engine.network_exists(plan.network); };
  // The env's own network is made at once: `down` removes it, so it is missing at nearly every
  // `up`, and each Docker CLI run costs a process start. A shared one is looked for first.
  engine::NetworkSpec network = network_spec(plan);
  if (!network.isolated && exists()) return false;
  auto result = engine.create_network(network);
  // It was there already (kept by a failed `down`, or another `up` joining the same shared
  // network made it meanwhile).
  if (result.exit_code == 0) return true;
  if (exists()) return false;
  std::string message = docker::explain_failure("create network " + plan.network, result);
  std::vector<std::string> unused =
      docker::is_out_of_address_pools(result.err) ? networks_without_environment(engine) : std::vector<std::string>{};
  if (!unused.empty()) {
    std::string names;
    for (const auto& network : unused)
      names += (names.empty() ? "" : " ") + network;
    message += "; these launcher networks belong to no environment: `" + std::string(engine.name()) + " network rm " +
               names + "` removes them";
  }
  throw Error(ExitCode::failed, message);
}

std::string jupyter_login_url(const Endpoint& endpoint, const host::StateLayout& layout) {
  std::string url = "http://" + reachable_host(endpoint) + ":" + std::to_string(endpoint.host_port) + "/";
  if (std::filesystem::exists(layout.jupyter_password_hash())) return url;
  // The one place a token is shown unasked: the URL the user opens.
  auto token = secrets::read_private_file(layout.jupyter_token());
  return token ? url + "?token=" + *token : url;
}

std::vector<std::string> ssh_argv(const SshTarget& target) {
  return {"ssh",
          "-p",
          std::to_string(target.port),
          "-o",
          "HostKeyAlias=" + target.alias,
          "-o",
          "UserKnownHostsFile=" + target.known_hosts,
          "-o",
          "StrictHostKeyChecking=yes",
          target.user + "@" + target.host};
}

void remove_own_network(const engine::Engine& engine, const std::string& env) {
  engine.remove_network(plan::own_network(env));
}

bool remove_leftover_network(const engine::Engine& engine, const std::string& env) {
  const std::string network = plan::own_network(env);
  if (engine.network_label(network, contract::label::env) != env) return false;
  return engine.remove_network(network);
}

namespace {

// Whether `fd` is still the file at `path`: `down --purge` deletes the lock file while holding it,
// so a launcher that waited on the deleted file must lock the new one instead.
bool is_current(int fd, const std::filesystem::path& path) {
  struct stat opened {
  }, named{};
  return fstat(fd, &opened) == 0 && stat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev &&
         opened.st_ino == named.st_ino;
}

} // namespace

EnvironmentLock::EnvironmentLock(const std::filesystem::path& state_home, const std::string& env, std::ostream& notices,
                                 bool wait)
    : EnvironmentLock(host::state_layout(EnvName::parse(env), state_home), notices, wait) {}

EnvironmentLock::EnvironmentLock(const host::StateLayout& layout, std::ostream& notices, bool wait)
    : path_(layout.lock_file()) {
  std::string env = layout.env_dir.filename().string();
  secrets::ensure_private_dir(layout.inside(layout.envs_dir()));
  layout.inside(path_);
  bool told = false;
  while (true) {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(ExitCode::failed, "failed to open lock: " + path_.string() + ": " + std::strerror(errno));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (!wait) {
        close(fd_);
        fd_ = -1;
        throw Error(ExitCode::failed, "another launcher (an `up` or `down`) is working on environment \"" + env +
                                          "\"; try again when it has finished");
      }
      if (!told)
        notices << "another launcher is working on environment \"" << env << "\"; waiting for it to finish\n"
                << std::flush;
      told = true;
      while (flock(fd_, LOCK_EX) != 0)
        if (errno != EINTR)
          throw Error(ExitCode::failed, "failed to lock: " + path_.string() + ": " + std::strerror(errno));
    }
    if (is_current(fd_, path_)) return;
    close(fd_); // deleted (or replaced) by the holder before us: lock the file there now
    fd_ = -1;
  }
}

void EnvironmentLock::remove_file() {
  if (unlink(path_.c_str()) != 0 && errno != ENOENT)
    throw Error(ExitCode::failed, "failed to delete lock: " + path_.string() + ": " + std::strerror(errno));
}

EnvironmentLock::~EnvironmentLock() {
  if (fd_ >= 0) close(fd_); // closing releases the flock
}

} // namespace launcher::lifecycle
