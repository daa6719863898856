#include "gpu/lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "process/process.hpp"

namespace launcher::gpu {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& verb, const fs::path& path) {
  throw Error(ExitCode::failed, "failed to " + verb + " GPU lock file " + path.string() + ": " + std::strerror(errno));
}

class LockedFile {
public:
  explicit LockedFile(const fs::path& path) : path_(path) {
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) fail("open", path);
    // In a world-writable directory (/run/lock/launcher) every user must be able to update it.
    struct stat directory {};
    if (stat(path.parent_path().c_str(), &directory) == 0 && (directory.st_mode & S_IWOTH)) fchmod(fd_, 0666);
    while (flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) fail("lock", path);
  }
  ~LockedFile() { close(fd_); } // closing releases the flock
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;

  std::string read_all() const {
    std::string text;
    char buffer[8192];
    for (off_t offset = 0;;) {
      ssize_t n = pread(fd_, buffer, sizeof buffer, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read", path_);
      if (n == 0) return text;
      text.append(buffer, static_cast<std::size_t>(n));
      offset += n;
    }
  }

  void write_all(const std::string& text) const {
    if (ftruncate(fd_, 0) != 0) fail("truncate", path_);
    for (std::size_t written = 0; written < text.size();) {
      ssize_t n = pwrite(fd_, text.data() + written, text.size() - written, static_cast<off_t>(written));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write", path_);
      written += static_cast<std::size_t>(n);
    }
    if (fsync(fd_) != 0) fail("sync", path_);
  }

private:
  fs::path path_;
  int fd_ = -1;
};

HolderTable parse_table(const std::string& text, const fs::path& path) {
  HolderTable holders;
  if (text.empty()) return holders;
  try {
    json document = json::parse(text);
    for (const auto& [uuid, holder] : document.at("gpus").items())
      holders[uuid] = {holder.at("env").get<std::string>(), holder.at("uid").get<unsigned>(),
                       holder.at("user").get<std::string>(), holder.at("pid").get<long>()};
  } catch (const json::exception& error) {
    throw Error(ExitCode::failed, "GPU lock file " + path.string() + " is not what the launcher writes (" + error.what() +
                                      "); remove it when no launcher is running");
  }
  return holders;
}

std::string table_text(const HolderTable& holders) {
  json gpus = json::object();
  for (const auto& [uuid, holder] : holders)
    gpus[uuid] = {{"env", holder.env}, {"uid", holder.uid}, {"user", holder.user}, {"pid", holder.pid}};
  return json{{"version", 1}, {"gpus", gpus}}.dump(2) + "\n";
}

void forget_env(HolderTable& holders, const std::string& env) {
  std::erase_if(holders, [&](const auto& entry) { return entry.second.env == env; });
}

} // namespace

HolderProbe live_holder_probe(const std::string& docker) {
  return {[docker](const std::string& env) {
            auto result = process::run_process({docker, "ps", "-a", "-q", "--filter", "label=io.launcher.env=" + env});
            return result.exit_code != 0 || !result.out.empty();
          },
          [](long pid) { return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }};
}

fs::path default_lock_file(const fs::path& state_home) {
  const fs::path shared = "/run/lock/launcher";
  if (access("/run/lock", W_OK) == 0) {
    // Sticky and world-writable like /run/lock itself: every user's `up` shares one table.
    if (mkdir(shared.c_str(), 01777) == 0) chmod(shared.c_str(), 01777);
    if (access(shared.c_str(), W_OK) == 0) return shared / "gpus.json";
  }
  return state_home / "launcher" / "gpus.json";
}

void with_holder_table(const fs::path& file, const std::function<void(HolderTable&)>& update) {
  LockedFile locked(file);
  HolderTable holders = parse_table(locked.read_all(), file);
  HolderTable before = holders;
  update(holders);
  if (holders != before) locked.write_all(table_text(holders));
}

void drop_stale_holders(HolderTable& holders, const std::string& env, const HolderProbe& probe) {
  std::erase_if(holders, [&](const auto& entry) {
    const GpuHolder& holder = entry.second;
    return holder.env != env && !probe.container_exists(holder.env) && !probe.process_alive(holder.pid);
  });
}

std::vector<Gpu> reserve_gpus(const fs::path& lock_file, const GpuInventory& inventory, const GpuHolder& claimant,
                              int count, const HolderProbe& probe) {
  std::vector<Gpu> reserved;
  with_holder_table(lock_file, [&](HolderTable& holders) {
    drop_stale_holders(holders, claimant.env, probe);
    std::vector<const Gpu*> chosen = choose_gpus(inventory, holders, claimant.env, count);
    forget_env(holders, claimant.env);
    for (const Gpu* gpu : chosen) {
      holders[gpu->uuid] = claimant;
      reserved.push_back(*gpu);
    }
  });
  return reserved;
}

void record_gpus(const fs::path& lock_file, const std::vector<const Gpu*>& gpus, const GpuHolder& claimant) {
  with_holder_table(lock_file, [&](HolderTable& holders) {
    forget_env(holders, claimant.env);
    // A GPU another env holds stays recorded as theirs: naming it is allowed, taking it over is not.
    for (const Gpu* gpu : gpus) holders.emplace(gpu->uuid, claimant);
  });
}

void release_gpus(const fs::path& lock_file, const std::string& env) {
  with_holder_table(lock_file, [&](HolderTable& holders) { forget_env(holders, env); });
}

} // namespace launcher::gpu
