#include "gpu/lock.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fd_output.hpp"
#include "core/json_reader.hpp"
#include "engine/engine.hpp"
#include "launcher_contract/contract.hpp"

namespace launcher::gpu {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& verb, const fs::path& path) {
  throw Error(ExitCode::failed, "failed to " + verb + " GPU table " + path.string() + ": " + std::strerror(errno));
}

[[noreturn]] void refuse(const fs::path& path, const std::string& why, const std::string& fix) {
  throw Error(ExitCode::failed, "refusing GPU table " + path.string() + ": " + why + "; " + fix);
}

std::string octal_mode(mode_t mode) {
  std::ostringstream text;
  text << std::oct << (mode & 07777);
  return text.str();
}

// Whether the table's directory is the host-wide one (root's, shared with a group) rather
// than this user's private one. Anything else could hold a link planted by another user.
bool require_trusted_directory(const fs::path& dir) {
  struct stat info {};
  if (lstat(dir.c_str(), &info) != 0) fail("inspect the directory of", dir);
  if (!S_ISDIR(info.st_mode)) refuse(dir, "not a directory", "remove it");
  if (info.st_mode & S_IWOTH)
    refuse(dir, "its directory is writable by every user (mode " + octal_mode(info.st_mode) + ")",
           "only root's " + std::string(shared_lock_dir) +
               " (root:docker, 2770) or your own state directory is trusted");
  if (info.st_uid == 0 && (info.st_mode & S_IWGRP)) return true; // root's, shared with its group
  if (info.st_uid == geteuid()) {
    if (info.st_mode & S_IWGRP)
      refuse(dir, "your directory is writable by its group (mode " + octal_mode(info.st_mode) + ")",
             "chmod g-w " + dir.string());
    return false;
  }
  if (info.st_uid == 0) return true;
  refuse(dir, "its directory belongs to uid " + std::to_string(info.st_uid),
         "only a directory of root's or your own is trusted; remove " + dir.string());
}

// Creates the missing directories of this user's table, private from the start.
void make_private_directories(const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path path = dir; !path.empty() && !fs::exists(fs::symlink_status(path)); path = path.parent_path())
    missing.push_back(path);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) fail("create the directory of", *it);
}

// Opens the table without following a link, creating it when absent; only a file this call
// created gets its mode set.
int open_table(const fs::path& path, bool shared) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == ELOOP) refuse(path, "it is a symbolic link", "remove it when no launcher is running");
    if (errno != ENOENT) fail("open", path);
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // The umask must not decide who else may write it: the docker group in the shared place.
      if (fchmod(fd, shared ? 0660 : 0600) != 0) fail("set the mode of", path);
      return fd;
    }
    if (errno != EEXIST) fail("create", path);
  }
  fail("open", path);
}

void require_trusted_file(int fd, const fs::path& path, bool shared) {
  struct stat file {
  }, dir{};
  if (fstat(fd, &file) != 0) fail("inspect", path);
  if (!S_ISREG(file.st_mode)) refuse(path, "not a regular file", "remove it when no launcher is running");
  if (file.st_nlink != 1)
    refuse(path, "it has " + std::to_string(file.st_nlink) + " hard links", "remove it when no launcher is running");
  if (file.st_mode & S_IWOTH)
    refuse(path, "every user can write it (mode " + octal_mode(file.st_mode) + ")",
           "remove it when no launcher is running");
  if (shared) {
    if (stat(path.parent_path().c_str(), &dir) != 0) fail("inspect the directory of", path);
    if (file.st_gid != dir.st_gid)
      refuse(path,
             "its group (gid " + std::to_string(file.st_gid) + ") is not its directory's (gid " +
                 std::to_string(dir.st_gid) + ")",
             "remove it when no launcher is running");
  } else if (file.st_uid != geteuid()) {
    refuse(path, "it belongs to uid " + std::to_string(file.st_uid), "remove it when no launcher is running");
  }
}

class LockedFile {
public:
  LockedFile(const fs::path& path, std::chrono::milliseconds wait) : path_(path) {
    if (!fs::exists(fs::symlink_status(path.parent_path()))) make_private_directories(path.parent_path());
    bool shared = require_trusted_directory(path.parent_path());
    fd_ = open_table(path, shared);
    try {
      require_trusted_file(fd_, path, shared);
      lock_gpu_table(fd_, path, wait);
    } catch (...) {
      close(fd_);
      throw;
    }
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
    if (lseek(fd_, 0, SEEK_SET) != 0) fail("rewind", path_);
    if (int error = write_fully(fd_, text); error != 0) {
      errno = error;
      fail("write", path_);
    }
    if (fsync(fd_) != 0) fail("sync", path_);
  }

private:
  fs::path path_;
  int fd_ = -1;
};

GpuHolder parse_holder(const json& entry) {
  GpuHolder holder{entry.at("env").get<std::string>(), entry.at("uid").get<unsigned>(),
                   entry.at("user").get<std::string>(), entry.at("pid").get<long>()};
  if (entry.contains("chosen_at")) {
    holder.chosen_at_s = entry.at("chosen_at").get<long long>();
    holder.memory_at_choice_mib = entry.at("memory_at_choice_mib").get<std::uint64_t>();
  }
  return holder;
}

json holder_json(const GpuHolder& holder) {
  json entry{{"env", holder.env}, {"uid", holder.uid}, {"user", holder.user}, {"pid", holder.pid}};
  if (holder.chosen_at_s) {
    entry["chosen_at"] = *holder.chosen_at_s;
    entry["memory_at_choice_mib"] = holder.memory_at_choice_mib;
  }
  return entry;
}

// Version 1 without "queue" and leases is read too: a table an older launcher wrote stays valid.
GpuTable parse_table(const std::string& text, const fs::path& path) {
  GpuTable table;
  if (text.empty()) return table;
  try {
    json document = json::parse(text);
    for (const auto& [uuid, holder] : document.at("gpus").items())
      table.holders[uuid] = parse_holder(holder);
    if (document.contains("queue"))
      for (const auto& waiter : document.at("queue"))
        table.queue.push_back({parse_holder(waiter), waiter.at("count").get<int>()});
  } catch (const json::exception& error) {
    throw Error(ExitCode::failed,
                "GPU table " + path.string() + " is not what the launcher writes (" + json_error_text(error) +
                    "); remove it when no launcher is running (the containers' labels keep their GPUs taken)");
  }
  return table;
}

std::string table_text(const GpuTable& table) {
  json gpus = json::object();
  for (const auto& [uuid, holder] : table.holders)
    gpus[uuid] = holder_json(holder);
  json document{{"version", 1}, {"gpus", gpus}};
  if (!table.queue.empty()) {
    json queue = json::array();
    for (const auto& waiter : table.queue) {
      json entry = holder_json(waiter.who);
      entry["count"] = waiter.count;
      queue.push_back(entry);
    }
    document["queue"] = queue;
  }
  return document.dump(2) + "\n";
}

void forget_env(HolderTable& holders, const std::string& env) {
  std::erase_if(holders, [&](const auto& entry) { return entry.second.env == env; });
}

// Root makes the host-wide directory for the docker group, whose members can run any
// container and so are trusted with the table; without that group it stays root's alone.
void make_shared_directory() {
  if (mkdir(shared_lock_dir, 0700) != 0) return;
  const group* docker = getgrnam("docker");
  gid_t gid = docker ? docker->gr_gid : 0;
  if (chown(shared_lock_dir, 0, gid) == 0) chmod(shared_lock_dir, docker ? 02770 : 0700);
}

std::string user_name(uid_t uid) {
  const passwd* entry = getpwuid(uid);
  return entry ? entry->pw_name : "uid " + std::to_string(uid);
}

} // namespace

void lock_gpu_table(int fd, const fs::path& path, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) fail("lock", path);
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(ExitCode::failed, "the GPU table " + path.string() + " has been locked by " +
                                        describe_lock_holder(path) +
                                        fmt::format(" for more than {:g} s; wait ", wait.count() / 1000.0) +
                                        "for it to finish, or stop that process");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

HolderProbe live_holder_probe(const engine::Engine& engine) {
  return {[&engine](const std::string& env) {
            return engine.any_running_labelled(std::string(contract::label::env) + "=" + env).value_or(true);
          },
          [](long pid) { return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }};
}

fs::path default_lock_file(const fs::path& state_home) {
  struct stat info {};
  if (lstat(shared_lock_dir, &info) != 0 && errno == ENOENT && geteuid() == 0) make_shared_directory();
  if (access(shared_lock_dir, W_OK | X_OK) == 0) return fs::path(shared_lock_dir) / "gpus.json";
  return state_home / "launcher" / "gpus.json";
}

std::string describe_lock_holder(const fs::path& file) {
  struct stat info {};
  if (stat(file.c_str(), &info) != 0) return "another process";
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%lu", major(info.st_dev), minor(info.st_dev),
                static_cast<unsigned long>(info.st_ino));
  // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"; waiters' lines carry "->" and are skipped.
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string number, type, mode, access, pid, object;
    if (!(fields >> number >> type >> mode >> access >> pid >> object) || type != "FLOCK" || object != id) continue;
    std::string comm;
    std::ifstream(fs::path("/proc") / pid / "comm") >> comm;
    struct stat process {};
    std::string owner =
        stat((fs::path("/proc") / pid).c_str(), &process) == 0 ? ", user " + user_name(process.st_uid) : "";
    return "process " + pid + (comm.empty() ? "" : " (" + comm + owner + ")");
  }
  return "another process";
}

void with_gpu_table(const fs::path& file, const std::function<void(GpuTable&)>& update,
                    std::chrono::milliseconds wait) {
  LockedFile locked(file, wait);
  GpuTable table = parse_table(locked.read_all(), file);
  GpuTable before = table;
  update(table);
  if (table != before) locked.write_all(table_text(table));
}

void with_holder_table(const fs::path& file, const std::function<void(HolderTable&)>& update,
                       std::chrono::milliseconds wait) {
  with_gpu_table(
      file, [&](GpuTable& table) { update(table.holders); }, wait);
}

bool still_holds(const GpuHolder& holder, const Gpu* gpu, const HolderProbe& probe, const LeaseTerms& terms) {
  if (probe.process_alive(holder.pid)) return true;
  if (!probe.container_running(holder.env)) return false;
  if (!holder.chosen_at_s) return true;
  long long age = terms.now_s - *holder.chosen_at_s;
  // A time ahead of now was taken before a reboot (the Clock counts from boot): long past.
  if (age < 0 || age >= terms.grace.count()) return false;
  return !gpu || gpu->memory_used_mib <= holder.memory_at_choice_mib;
}

void drop_stale_holders(HolderTable& holders, const std::string& env, const HolderProbe& probe,
                        const GpuInventory& inventory, const LeaseTerms& terms) {
  std::erase_if(holders, [&](const auto& entry) {
    const auto& [uuid, holder] = entry;
    return holder.env != env && !still_holds(holder, inventory.by_uuid(uuid), probe, terms);
  });
}

namespace {

// Under the lock: what is taken for `claimant` (live holders of other envs, then the running
// containers' labels), with the claimant's own records and its container's GPUs as its own.
HolderTable taken_for(HolderTable& holders, const GpuInventory& inventory, const GpuHolder& claimant,
                      const HolderProbe& probe, const LeaseTerms& terms, const HolderTable& held_by_containers) {
  drop_stale_holders(holders, claimant.env, probe, inventory, terms);
  HolderTable taken = holders;
  for (const auto& [uuid, holder] : held_by_containers)
    if (holder.env != claimant.env) taken.emplace(uuid, holder);
  // Last, so that another env's claim on the same GPU wins.
  for (const auto& [uuid, holder] : held_by_containers)
    if (holder.env == claimant.env) taken.emplace(uuid, holder);
  return taken;
}

// Records `chosen` as the claimant's lease, replacing whatever it held.
std::vector<Gpu> lease(HolderTable& holders, const std::vector<const Gpu*>& chosen, const GpuHolder& claimant,
                       const LeaseTerms& terms) {
  forget_env(holders, claimant.env);
  std::vector<Gpu> leased;
  for (const Gpu* gpu : chosen) {
    GpuHolder holder = claimant;
    holder.chosen_at_s = terms.now_s;
    holder.memory_at_choice_mib = gpu->memory_used_mib;
    holders[gpu->uuid] = holder;
    leased.push_back(*gpu);
  }
  return leased;
}

void forget_waiter(std::vector<Waiter>& queue, const std::string& env) {
  std::erase_if(queue, [&](const Waiter& waiter) { return waiter.who.env == env; });
}

} // namespace

std::vector<Gpu> reserve_gpus(const fs::path& lock_file, const GpuInventory& inventory, const GpuHolder& claimant,
                              int count, const HolderProbe& probe, const LeaseTerms& terms,
                              const HolderTable& held_by_containers, Reservation reservation) {
  std::vector<Gpu> reserved;
  with_holder_table(lock_file, [&](HolderTable& table) {
    // A preview works on a copy: the table is written back only when it changed.
    HolderTable copy = table;
    HolderTable& holders = reservation == Reservation::record ? table : copy;
    HolderTable taken = taken_for(holders, inventory, claimant, probe, terms, held_by_containers);
    reserved = lease(holders, choose_gpus(inventory, taken, claimant.env, count), claimant, terms);
  });
  return reserved;
}

std::variant<std::vector<Gpu>, QueuePlace> reserve_or_queue(const fs::path& lock_file, const GpuInventory& inventory,
                                                            const GpuHolder& claimant, int count,
                                                            const HolderProbe& probe, const LeaseTerms& terms,
                                                            const HolderTable& held_by_containers) {
  std::variant<std::vector<Gpu>, QueuePlace> result;
  with_gpu_table(lock_file, [&](GpuTable& table) {
    std::erase_if(table.queue, [&](const Waiter& waiter) {
      return waiter.who.env != claimant.env && !probe.process_alive(waiter.who.pid);
    });
    HolderTable taken = taken_for(table.holders, inventory, claimant, probe, terms, held_by_containers);
    std::vector<const Gpu*> available = available_gpus(inventory, taken, claimant.env);
    auto mine = std::find_if(table.queue.begin(), table.queue.end(),
                             [&](const Waiter& waiter) { return waiter.who.env == claimant.env; });
    bool first = table.queue.empty() || mine == table.queue.begin();
    if (first && static_cast<int>(available.size()) >= count) {
      forget_waiter(table.queue, claimant.env);
      result = lease(table.holders, choose_gpus(inventory, taken, claimant.env, count), claimant, terms);
      return;
    }
    if (mine == table.queue.end()) {
      table.queue.push_back({claimant, count});
      mine = std::prev(table.queue.end());
    }
    result = QueuePlace{static_cast<int>(mine - table.queue.begin()) + 1, static_cast<int>(table.queue.size()),
                        static_cast<int>(available.size()), describe_gpus(inventory, taken, claimant.env)};
  });
  return result;
}

void leave_queue(const fs::path& lock_file, const std::string& env) {
  with_gpu_table(lock_file, [&](GpuTable& table) { forget_waiter(table.queue, env); });
}

void record_gpus(const fs::path& lock_file, const std::vector<const Gpu*>& gpus, const GpuHolder& claimant) {
  with_holder_table(lock_file, [&](HolderTable& holders) {
    forget_env(holders, claimant.env);
    // A GPU another env holds stays recorded as theirs: naming it is allowed, taking it over is not.
    for (const Gpu* gpu : gpus)
      holders.emplace(gpu->uuid, claimant);
  });
}

void release_gpus(const fs::path& lock_file, const std::string& env) {
  with_gpu_table(lock_file, [&](GpuTable& table) {
    forget_env(table.holders, env);
    forget_waiter(table.queue, env);
  });
}

} // namespace launcher::gpu
