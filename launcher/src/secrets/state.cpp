#include "secrets/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
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
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) fail("inspect", dir);
  if (!S_ISDIR(info.st_mode))
    throw Error(ExitCode::failed, "failed to use state directory: " + dir.string() + ": not a directory");
  if (info.st_uid != geteuid())
    throw Error(ExitCode::failed, "refusing state directory " + dir.string() + ": it belongs to uid " +
                                      std::to_string(info.st_uid) + ", not to you");
  if ((info.st_mode & 077) != 0 && chmod(dir.c_str(), 0700) != 0) fail("make private", dir);
}

void write_private_file(const fs::path& path, const std::string& content) {
  write_file_atomically(path, content, 0600);
}

std::optional<std::string> read_private_file(const fs::path& path) { return read_file_if_present(path); }

} // namespace launcher::secrets
