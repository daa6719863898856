#include "gpu/shared_table.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/read_file.hpp"
#include "core/text.hpp"
#include "gpu/lock.hpp"

namespace launcher::gpu {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// An entry is a few hundred bytes; anything far larger was not written by the launcher.
constexpr std::size_t entry_size_limit = 64 * 1024;

std::string octal_mode(mode_t mode) {
  std::ostringstream text;
  text << std::oct << (mode & 07777);
  return text.str();
}

std::string table_name(const fs::path& dir) { return "the shared GPU table " + dir.string(); }

[[noreturn]] void refuse(const fs::path& dir, const std::string& why, const std::string& fix) {
  throw Error(ExitCode::failed, "refusing " + table_name(dir) + ": " + why + "; " + fix);
}

[[noreturn]] void fail(const std::string& verb, const fs::path& path, int error) {
  throw Error(ExitCode::failed, "failed to " + verb + " " + path.string() + ": " + std::strerror(error));
}

std::string name_of_user(uid_t uid) {
  const passwd* entry = getpwuid(uid);
  return entry ? entry->pw_name : "uid " + std::to_string(uid);
}

std::string name_of_group(gid_t gid) {
  const group* entry = getgrgid(gid);
  return entry ? entry->gr_name : "gid " + std::to_string(gid);
}

const std::string setup_fix = std::string("an admin runs `sudo launcher setup-host` (root:") + shared_table_group +
                              ", mode " + octal_mode(shared_table_mode) + ")";

// An entry file as found: its name, its entry, and why it was passed over ("" when it was not).
struct FoundEntry {
  std::string file;
  SharedEntry entry;
  std::string problem;
};

// The uid an entry file's name gives ("1000.alice-jupyter.json"), nullopt for another name.
std::optional<unsigned> uid_of_file_name(const std::string& name) {
  std::size_t dot = name.find('.');
  if (dot == 0 || dot == std::string::npos || name.size() < 5 || name.substr(name.size() - 5) != ".json")
    return std::nullopt;
  unsigned uid = 0;
  for (char digit : name.substr(0, dot)) {
    if (digit < '0' || digit > '9' || uid > 429496729) return std::nullopt;
    uid = uid * 10 + static_cast<unsigned>(digit - '0');
  }
  return uid;
}

// Reads one entry file without following a link or blocking on a FIFO a user planted.
FoundEntry read_entry_file(int dir_fd, const fs::path& dir, const std::string& name, unsigned named_uid) {
  FoundEntry found{name, {}, ""};
  const std::string source = (dir / name).string();
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    found.problem = std::string("cannot open it: ") + std::strerror(errno);
    return found;
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* open_fd) { close(*open_fd); });
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_nlink != 1) {
    found.problem = "not a regular file with one link";
    return found;
  }
  if (info.st_uid != named_uid) {
    found.problem = "it belongs to uid " + std::to_string(info.st_uid) + ", not to the uid its name gives";
    return found;
  }
  if (static_cast<std::size_t>(info.st_size) > entry_size_limit) {
    found.problem = "larger than 64 KiB";
    return found;
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  ssize_t length = pread(fd, text.data(), text.size(), 0);
  if (length < 0) {
    found.problem = std::string("cannot read it: ") + std::strerror(errno);
    return found;
  }
  text.resize(static_cast<std::size_t>(length));
  try {
    found.entry = parse_shared_entry(text, source);
  } catch (const Error& error) {
    found.problem = error.what();
    return found;
  }
  if (found.entry.uid != named_uid || shared_entry_file_name(named_uid, EnvName::parse(found.entry.env)) != name)
    found.problem = "its name is not " + std::to_string(found.entry.uid) + "." + found.entry.env + ".json";
  return found;
}

// Every entry file of `dir` (files whose names start with '.' are the lock and writes under way).
std::vector<FoundEntry> scan(const fs::path& dir) {
  std::vector<FoundEntry> found;
  DIR* stream = opendir(dir.c_str());
  if (!stream) {
    if (errno == ENOENT) return found;
    fail("read", dir, errno);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, closedir);
  while (const dirent* item = readdir(stream)) {
    std::string name = item->d_name;
    if (name.empty() || name[0] == '.') continue;
    std::optional<unsigned> uid = uid_of_file_name(name);
    if (!uid) {
      found.push_back({name, {}, "not an entry's name (<uid>.<env>.json)"});
      continue;
    }
    found.push_back(read_entry_file(dirfd(stream), dir, name, *uid));
  }
  return found;
}

std::string read_boot_id() {
  try {
    std::string id = read_file("/proc/sys/kernel/random/boot_id");
    id.erase(id.find_last_not_of(" \n") + 1);
    return id;
  } catch (const Error&) {
    return "";
  }
}

} // namespace

fs::path shared_table_dir() {
  const char* dir = std::getenv(shared_table_dir_variable);
  return dir && *dir ? fs::path(dir) : fs::path(shared_table_default_dir);
}

std::optional<unsigned long long> parse_stat_start_ticks(std::string_view stat) {
  std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // After the name: field 3 (state) onwards; the start time is field 22.
  std::istringstream fields{std::string(stat.substr(close + 1))};
  std::string field;
  for (int number = 3; number <= 22; ++number)
    if (!(fields >> field)) return std::nullopt;
  if (field.empty() || field.find_first_not_of("0123456789") != std::string::npos || field.size() > 19)
    return std::nullopt;
  return std::stoull(field);
}

LivenessProbe live_liveness_probe() {
  return {read_boot_id(), [](long pid) -> ProcessSeen {
            if (pid <= 0) return {};
            try {
              std::string stat = read_file(fs::path("/proc") / std::to_string(pid) / "stat");
              return {true, parse_stat_start_ticks(stat)};
            } catch (const Error&) {
              // A /proc mounted hidepid hides other users' processes; kill(2) still tells.
              return {kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM, std::nullopt};
            }
          }};
}

bool still_running(const ProcessProof& proof, const LivenessProbe& probe) {
  if (proof.boot_id != probe.boot_id) return false;
  ProcessSeen seen = probe.see(proof.pid);
  if (!seen.exists) return false;
  return !seen.start_ticks || *seen.start_ticks == proof.start_ticks;
}

ProcessProof proof_of(long pid, const LivenessProbe& probe) {
  ProcessSeen seen = probe.see(pid);
  if (!seen.exists) throw Error(ExitCode::failed, "process " + std::to_string(pid) + " does not run");
  if (!seen.start_ticks)
    throw Error(ExitCode::failed, "cannot read the start time of process " + std::to_string(pid) + " in /proc");
  return {pid, *seen.start_ticks, probe.boot_id};
}

std::string shared_entry_file_name(unsigned uid, const EnvName& env) {
  return std::to_string(uid) + "." + env.str() + ".json";
}

json to_json(const SharedEntry& entry) {
  return {{"version", 1},
          {"env", entry.env},
          {"uid", entry.uid},
          {"user", entry.user},
          {"gpus", entry.gpus},
          {"holder",
           {{"pid", entry.holder.pid}, {"start_ticks", entry.holder.start_ticks}, {"boot_id", entry.holder.boot_id}}}};
}

SharedEntry parse_shared_entry(std::string_view text, const std::string& source) {
  try {
    json document = json::parse(text);
    if (document.at("version").get<int>() != 1)
      throw Error(ExitCode::failed,
                  source + ": version " + document.at("version").dump() + " is not one this launcher reads (1)");
    SharedEntry entry{document.at("env").get<std::string>(), document.at("uid").get<unsigned>(),
                      document.at("user").get<std::string>(), document.at("gpus").get<std::vector<std::string>>(),
                      ProcessProof{document.at("holder").at("pid").get<long>(),
                                   document.at("holder").at("start_ticks").get<unsigned long long>(),
                                   document.at("holder").at("boot_id").get<std::string>()}};
    if (std::string problem = env_name_problem(entry.env); !problem.empty())
      throw Error(ExitCode::failed, source + ": " + problem);
    // Messages print the user: another user's text must not reach the terminal as escapes.
    if (entry.user.empty() || entry.user.size() > 64 || escape_control_characters(entry.user) != entry.user)
      throw Error(ExitCode::failed, source + ": user " + quote_for_message(entry.user) + " is no user name");
    return entry;
  } catch (const json::exception& error) {
    throw Error(ExitCode::failed, source + ": not a GPU table entry (" + json_error_text(error) + ")");
  }
}

SharedTableView read_shared_table(const fs::path& dir, const LivenessProbe& probe) {
  SharedTableView view;
  for (auto& found : scan(dir)) {
    if (!found.problem.empty())
      view.problems.push_back("passed over GPU table entry " + (dir / found.file).string() + ": " + found.problem);
    else if (still_running(found.entry.holder, probe))
      view.live.push_back(std::move(found.entry));
  }
  return view;
}

HolderTable shared_holders(const SharedTableView& view, const GpuInventory& inventory, unsigned uid,
                           const std::string& env) {
  HolderTable held;
  auto is_own = [&](const SharedEntry& entry) { return entry.uid == uid && entry.env == env; };
  // Others first, so that another env's claim on the same GPU wins over this env's.
  for (bool own : {false, true})
    for (const auto& entry : view.live) {
      if (is_own(entry) != own) continue;
      std::string name = own || entry.env != env ? entry.env : entry.user + "/" + entry.env;
      for (const auto& uuid : entry.gpus)
        held.emplace(uuid, GpuHolder{name, entry.uid, entry.user, entry.holder.pid});
    }
  // A process no env of the table accounts for (another engine's container, a job run by hand).
  for (const auto& process : inventory.processes)
    held.emplace(process.gpu_uuid, GpuHolder{"", 0, "", process.pid});
  return held;
}

void require_shared_table_dir(const fs::path& dir, bool writing) {
  struct stat info {};
  if (lstat(dir.c_str(), &info) != 0) {
    if (errno == ENOENT) throw Error(ExitCode::failed, table_name(dir) + " does not exist; " + setup_fix);
    fail("inspect", dir, errno);
  }
  if (S_ISLNK(info.st_mode)) refuse(dir, "it is a symbolic link", setup_fix);
  if (!S_ISDIR(info.st_mode)) refuse(dir, "not a directory", setup_fix);
  if (info.st_mode & S_IWOTH) refuse(dir, "every user can write it (mode " + octal_mode(info.st_mode) + ")", setup_fix);
  if (info.st_uid != 0 && info.st_uid != geteuid())
    refuse(dir, "it belongs to uid " + std::to_string(info.st_uid) + ", not root", setup_fix);
  if ((info.st_mode & S_IWGRP) && !(info.st_mode & S_ISVTX))
    refuse(dir,
           "its group may write it without the sticky bit (mode " + octal_mode(info.st_mode) +
               "), so any member could replace another's entry",
           setup_fix);
  if (writing && access(dir.c_str(), W_OK | X_OK) != 0) {
    std::string user = name_of_user(geteuid());
    std::string group = name_of_group(info.st_gid);
    throw Error(ExitCode::failed, "cannot write " + table_name(dir) + ": user " + user + " is not in its group " +
                                      group + "; an admin adds you with `sudo usermod -aG " + group + " " + user +
                                      "`, then log in again");
  }
}

SharedTableLock::SharedTableLock(const fs::path& dir, std::chrono::milliseconds wait) {
  require_shared_table_dir(dir, true);
  fs::path path = dir / shared_table_lock_name;
  fd_ = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw Error(ExitCode::failed, table_name(dir) + " has no lock file; " + setup_fix);
    fail("open", path, errno);
  }
  try {
    struct stat file {
    }, parent{};
    if (fstat(fd_, &file) != 0) fail("inspect", path, errno);
    if (stat(dir.c_str(), &parent) != 0) fail("inspect", dir, errno);
    if (!S_ISREG(file.st_mode) || file.st_uid != parent.st_uid)
      refuse(dir, "its lock file is not a regular file of its directory's owner", setup_fix);
    lock_gpu_table(fd_, path, wait);
  } catch (...) {
    close(fd_);
    throw;
  }
}

SharedTableLock::~SharedTableLock() { close(fd_); } // closing releases the flock

void write_shared_entry(const fs::path& dir, const SharedEntry& entry, const LivenessProbe& probe) {
  fs::path path = dir / shared_entry_file_name(entry.uid, EnvName::parse(entry.env));
  write_file_atomically(path, to_json(entry).dump(2) + "\n", 0644);
  for (const auto& found : scan(dir))
    if (found.problem.empty() && found.entry.uid == entry.uid && !still_running(found.entry.holder, probe) &&
        unlink((dir / found.file).c_str()) != 0 && errno != ENOENT)
      fail("remove", dir / found.file, errno);
}

void remove_shared_entry(const fs::path& dir, const EnvName& env) {
  fs::path path = dir / shared_entry_file_name(geteuid(), env);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove", path, errno);
}

bool hand_entry_to(const fs::path& dir, const EnvName& env, long from_pid, long conmon_pid,
                   const LivenessProbe& probe) {
  for (auto& found : scan(dir)) {
    if (found.file != shared_entry_file_name(geteuid(), env) || !found.problem.empty()) continue;
    if (found.entry.holder.pid != from_pid) return false;
    found.entry.holder = proof_of(conmon_pid, probe);
    write_file_atomically(dir / found.file, to_json(found.entry).dump(2) + "\n", 0644);
    return true;
  }
  return false;
}

std::optional<long> conmon_pid_of(const json& container) {
  if (!container.is_object() || !container.contains("State") || !container["State"].is_object()) return std::nullopt;
  const json& state = container["State"];
  if (!state.contains("ConmonPid") || !state["ConmonPid"].is_number_integer()) return std::nullopt;
  long pid = state["ConmonPid"].get<long>();
  return pid > 0 ? std::optional<long>(pid) : std::nullopt;
}

SharedTable live_shared_table() { return {shared_table_dir(), live_liveness_probe()}; }

} // namespace launcher::gpu
