#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace launcher {

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

void write_file_atomically(const fs::path& path, const std::string& content, mode_t mode) {
  std::string temporary = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  Descriptor file{mkostemp(temporary.data(), O_CLOEXEC)};
  if (file.fd < 0) fail("create a file in", path.parent_path());
  auto discard = [&](const std::string& verb) {
    int saved = errno;
    unlink(temporary.c_str());
    errno = saved;
    fail(verb, temporary);
  };
  if (fchmod(file.fd, mode) != 0) discard("set the mode of");
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

} // namespace launcher
