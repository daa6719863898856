#include "gpu/table_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/error.hpp"
#include "process/process.hpp"

namespace launcher::gpu {

namespace fs = std::filesystem;

namespace {

std::string octal(mode_t mode) {
  std::ostringstream text;
  text << std::oct << (mode & 07777);
  return text.str();
}

std::string user_name(uid_t uid) {
  const passwd* entry = getpwuid(uid);
  return entry ? entry->pw_name : "uid " + std::to_string(uid);
}

std::optional<PathFacts> path_facts(const fs::path& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(ExitCode::failed, "failed to inspect " + path.string() + ": " + std::strerror(errno));
  }
  return PathFacts{info.st_mode, info.st_uid, info.st_gid, info.st_nlink};
}

[[noreturn]] void refuse(const fs::path& path, const std::string& why) {
  throw Error(ExitCode::failed, "refusing " + path.string() + ": " + why +
                                    "; someone may have planted it: remove it, then run setup-host again");
}

[[noreturn]] void fail(const std::string& verb, const fs::path& path) {
  throw Error(ExitCode::failed, "failed to " + verb + " " + path.string() + ": " + std::strerror(errno));
}

gid_t group_id(const std::string& group) {
  const struct group* entry = getgrnam(group.c_str());
  if (!entry) throw Error(ExitCode::failed, "group " + group + " does not exist");
  return entry->gr_gid;
}

// The directory itself, never a link put in its place, checked to be the owner's still.
int open_directory(const TableSetupTarget& target) {
  int fd = open(target.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("open", target.dir);
  struct stat info {};
  if (fstat(fd, &info) != 0 || info.st_uid != target.owner) {
    close(fd);
    refuse(target.dir, "it does not belong to " + user_name(target.owner));
  }
  return fd;
}

void make_parents(const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path path = dir.parent_path(); !path.empty() && !fs::exists(fs::symlink_status(path));
       path = path.parent_path())
    missing.push_back(path);
  // The umask must not decide who may reach the table; only directories made here are changed.
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (mkdir(it->c_str(), 0755) != 0 || chmod(it->c_str(), 0755) != 0) fail("create", *it);
}

void run_step(const TableSetupTarget& target, SetupAction action) {
  switch (action) {
  case SetupAction::create_group: {
    std::vector<std::string> argv{"groupadd", "--system", target.group};
    process::ProcessResult result = process::run_process(argv);
    if (result.exit_code != 0)
      throw Error(ExitCode::failed, "groupadd --system " + target.group + " failed: " + result.err);
    return;
  }
  case SetupAction::create_directory: {
    make_parents(target.dir);
    // Private until its lock file exists: no member can plant one first.
    if (mkdir(target.dir.c_str(), 0700) != 0) fail("create", target.dir);
    int fd = open_directory(target);
    bool owned = fchown(fd, target.owner, group_id(target.group)) == 0;
    close(fd);
    if (!owned) fail("set the owner of", target.dir);
    return;
  }
  case SetupAction::create_lock_file: {
    int dir = open_directory(target);
    int fd = openat(dir, shared_table_lock_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    close(dir);
    fs::path path = target.dir / shared_table_lock_name;
    if (fd < 0) fail("create", path);
    bool made = fchown(fd, target.owner, group_id(target.group)) == 0 && fchmod(fd, shared_table_lock_mode) == 0;
    close(fd);
    if (!made) fail("set the owner and mode of", path);
    return;
  }
  case SetupAction::set_directory_group: {
    int fd = open_directory(target);
    bool changed = fchown(fd, target.owner, group_id(target.group)) == 0;
    close(fd);
    if (!changed) fail("set the group of", target.dir);
    return;
  }
  case SetupAction::set_directory_mode: {
    int fd = open_directory(target);
    bool changed = fchmod(fd, shared_table_mode) == 0;
    close(fd);
    if (!changed) fail("set the mode of", target.dir);
    return;
  }
  }
}

} // namespace

TableSetupFacts read_table_setup_facts(const TableSetupTarget& target) {
  TableSetupFacts facts;
  if (const struct group* entry = getgrnam(target.group.c_str())) facts.group = entry->gr_gid;
  facts.dir = path_facts(target.dir);
  if (facts.dir && S_ISDIR(facts.dir->mode)) facts.lock = path_facts(target.dir / shared_table_lock_name);
  return facts;
}

std::vector<SetupStep> plan_table_setup(const TableSetupTarget& target, const TableSetupFacts& facts) {
  std::vector<SetupStep> steps;
  const std::string owner = user_name(target.owner) + ":" + target.group;
  const std::string dir = target.dir.string();
  const std::string lock = (target.dir / shared_table_lock_name).string();
  if (!facts.group) {
    if (!target.may_create_group)
      throw Error(ExitCode::failed, "group " + target.group +
                                        " does not exist, and setup-host --root adds no group to this host; name "
                                        "an existing one with --group");
    steps.push_back(
        {SetupAction::create_group, "create group " + target.group + " (groupadd --system " + target.group + ")"});
  }
  const std::string mode_step = "set the mode of " + dir + " to " + octal(shared_table_mode);
  if (!facts.dir) {
    steps.push_back({SetupAction::create_directory, "create directory " + dir + ", owned by " + owner});
    steps.push_back({SetupAction::create_lock_file,
                     "create its lock file " + lock + " (mode " + octal(shared_table_lock_mode) + ")"});
    steps.push_back({SetupAction::set_directory_mode, mode_step + " (setgid: entries get the group; sticky: no "
                                                                  "user removes another's entry)"});
    return steps;
  }
  if (S_ISLNK(facts.dir->mode)) refuse(target.dir, "it is a symbolic link");
  if (!S_ISDIR(facts.dir->mode)) refuse(target.dir, "it is not a directory");
  if (facts.dir->uid != target.owner)
    refuse(target.dir, "it belongs to " + user_name(facts.dir->uid) + ", not " + user_name(target.owner));
  if (!facts.group || facts.dir->gid != *facts.group)
    steps.push_back({SetupAction::set_directory_group, "set the group of " + dir + " to " + target.group +
                                                           " (was gid " + std::to_string(facts.dir->gid) + ")"});
  if (!facts.lock) {
    steps.push_back({SetupAction::create_lock_file,
                     "create its lock file " + lock + " (mode " + octal(shared_table_lock_mode) + ")"});
  } else if (!S_ISREG(facts.lock->mode) || facts.lock->links != 1 || facts.lock->uid != target.owner ||
             (facts.lock->mode & 07777) != shared_table_lock_mode) {
    refuse(target.dir / shared_table_lock_name, "not a regular file of " + user_name(target.owner) +
                                                    " with one link and mode " + octal(shared_table_lock_mode));
  }
  if ((facts.dir->mode & 07777) != shared_table_mode)
    steps.push_back({SetupAction::set_directory_mode, mode_step + " (was " + octal(facts.dir->mode) + ")"});
  return steps;
}

void execute_table_setup(const TableSetupTarget& target, const std::vector<SetupStep>& steps, std::ostream& out) {
  for (const auto& step : steps) {
    if (step.action == SetupAction::create_group && !target.may_create_group)
      throw Error(ExitCode::failed, "setup-host --root adds no group to this host");
    run_step(target, step.action);
    out << "done: " << step.text << "\n" << std::flush;
  }
}

} // namespace launcher::gpu
