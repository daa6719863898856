#include "secrets/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& verb, const fs::path& object) {
  throw Error(ExitCode::failed, "failed to " + verb + ": " + object.string() + ": " + std::strerror(errno));
}

// Closes the descriptor on every path out, errors included.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) close(fd);
  }
};

} // namespace

StateLayout state_layout(const std::string& env, const fs::path& state_home) {
  fs::path env_dir = state_home / "launcher" / "envs" / env;
  return {env_dir, env_dir / "secrets"};
}

void ensure_private_dir(const fs::path& dir) {
  std::vector<fs::path> missing;
  for (fs::path path = dir; !path.empty() && !fs::exists(path); path = path.parent_path()) missing.push_back(path);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) fail("create directory", *it);
  struct stat info{};
  if (stat(dir.c_str(), &info) != 0) fail("inspect", dir);
  if (!S_ISDIR(info.st_mode)) throw Error(ExitCode::failed, "failed to use state directory: " + dir.string() + ": not a directory");
  if (info.st_uid != geteuid())
    throw Error(ExitCode::failed, "refusing state directory " + dir.string() + ": it belongs to uid " +
                                      std::to_string(info.st_uid) + ", not to you");
  if ((info.st_mode & 077) != 0 && chmod(dir.c_str(), 0700) != 0) fail("make private", dir);
}

void write_private_file(const fs::path& path, const std::string& content) {
  std::string temporary = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  Descriptor file{mkostemp(temporary.data(), O_CLOEXEC)};
  if (file.fd < 0) fail("create a file in", path.parent_path());
  auto discard = [&](const std::string& verb) {
    int saved = errno;
    unlink(temporary.c_str());
    errno = saved;
    fail(verb, temporary);
  };
  if (fchmod(file.fd, 0600) != 0) discard("set the mode of");
  for (std::size_t written = 0; written < content.size();) {
    ssize_t n = write(file.fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) discard("write");
    written += static_cast<std::size_t>(n);
  }
  if (fsync(file.fd) != 0) discard("flush");
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(temporary.c_str());
    errno = saved;
    fail("replace", path);
  }
  Descriptor parent{open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (parent.fd < 0 || fsync(parent.fd) != 0) fail("flush directory", path.parent_path());
}

std::optional<std::string> read_private_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    fail("read", path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace launcher::secrets
