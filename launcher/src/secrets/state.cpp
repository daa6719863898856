#include "secrets/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/fd_output.hpp"
#include "core/read_file.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& verb, const fs::path& object) {
  throw Error(ExitCode::failed, "failed to " + verb + ": " + object.string() + ": " + std::strerror(errno));
}

} // namespace

void ensure_private_dir(const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path path = dir; !path.empty() && !fs::exists(path); path = path.parent_path())
    missing.push_back(path);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) fail("create directory", *it);
  // Opened without following a symbolic link, and changed through the descriptor: the mode
  // changed is that of this very directory, never of one a link (or a rename meanwhile) points to.
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR)
      throw Error(ExitCode::failed, "failed to use state directory: " + dir.string() +
                                        (errno == ELOOP ? ": a symbolic link" : ": not a directory"));
    fail("open", dir);
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    close(fd);
    fail("inspect", dir);
  }
  if (info.st_uid != geteuid()) {
    close(fd);
    throw Error(ExitCode::failed, "refusing state directory " + dir.string() + ": it belongs to uid " +
                                      std::to_string(info.st_uid) + ", not to you");
  }
  if ((info.st_mode & 077) != 0 && fchmod(fd, 0700) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    fail("make private", dir);
  }
  close(fd);
}

void write_private_file(const fs::path& path, const std::string& content) {
  write_file_atomically(path, content, 0600);
}

StagedFiles::~StagedFiles() {
  for (const auto& file : staged_)
    unlink(file.temporary.c_str());
}

void StagedFiles::stage(const fs::path& path, const std::string& content) {
  std::string temporary = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  int fd = mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) fail("create a file in", path.parent_path());
  staged_.push_back({temporary, path}); // deleted by the destructor from here on
  if (fchmod(fd, 0600) != 0) {
    close(fd);
    fail("set the mode of", temporary);
  }
  if (int error = write_fully(fd, content); error != 0) {
    close(fd);
    errno = error;
    fail("write", temporary);
  }
  if (fsync(fd) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    fail("flush", temporary);
  }
  if (close(fd) != 0) fail("close", temporary);
}

void StagedFiles::commit() {
  std::vector<fs::path> directories;
  for (const auto& file : staged_) {
    if (rename(file.temporary.c_str(), file.path.c_str()) != 0) fail("replace", file.path);
    if (std::find(directories.begin(), directories.end(), file.path.parent_path()) == directories.end())
      directories.push_back(file.path.parent_path());
  }
  staged_.clear();
  for (const auto& directory : directories) {
    int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool flushed = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!flushed) fail("flush directory", directory);
  }
}

std::optional<std::string> read_private_file(const fs::path& path) { return read_file_if_present(path); }

} // namespace launcher::secrets
