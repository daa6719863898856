#include "core/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace launcher {

namespace {

[[noreturn]] void fail_to_read(const std::filesystem::path& path, const std::string& reason) {
  throw Error(ExitCode::failed, "failed to read: " + path.string() + ": " + reason);
}

[[noreturn]] void fail_to_read(const std::filesystem::path& path, int error) {
  fail_to_read(path, std::strerror(error));
}

// Closes the descriptor on every path out, the throwing ones included.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

} // namespace

std::string describe_file_type(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return "a regular file";
  case S_IFDIR:
    return "a directory";
  case S_IFIFO:
    return "a FIFO";
  case S_IFSOCK:
    return "a socket";
  case S_IFCHR:
    return "a character device";
  case S_IFBLK:
    return "a block device";
  case S_IFLNK:
    return "a symbolic link";
  default:
    return "a file of unknown type";
  }
}

std::string describe_byte_limit(std::size_t bytes) {
  if (bytes >= (1U << 20) && bytes % (1U << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1U << 10) && bytes % (1U << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::optional<std::string> read_file_if_present(const std::filesystem::path& path, std::size_t max_bytes) {
  // Non-blocking: opening a FIFO with no writer would otherwise wait forever. The type is then
  // judged on the open descriptor, so nothing can swap the file between the check and the read.
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    int error = errno;
    struct stat link;
    if (error == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      std::error_code ignored;
      fail_to_read(path, "is a symbolic link to " + std::filesystem::read_symlink(path, ignored).string() +
                             ", which does not exist");
    }
    if (error == ENOENT) return std::nullopt;
    if (error == ELOOP) fail_to_read(path, "is a symbolic link loop (or a chain of more than 40 links)");
    fail_to_read(path, error);
  }
  struct stat status;
  if (::fstat(file.fd, &status) != 0) fail_to_read(path, errno);
  if (!S_ISREG(status.st_mode)) fail_to_read(path, "is " + describe_file_type(status.st_mode) + ", not a regular file");
  std::string too_large = "is larger than " + describe_byte_limit(max_bytes) + ", the limit for this file";
  if (static_cast<std::uintmax_t>(status.st_size) > max_bytes) fail_to_read(path, too_large);

  // Read at most one byte past the limit: a file that grows while it is read is still refused.
  std::string text;
  text.resize(static_cast<std::size_t>(status.st_size) + 1);
  std::size_t filled = 0;
  for (;;) {
    if (filled == text.size()) {
      if (text.size() > max_bytes) fail_to_read(path, too_large);
      text.resize(std::min(max_bytes + 1, text.size() * 2));
    }
    ssize_t count = ::read(file.fd, text.data() + filled, text.size() - filled);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) fail_to_read(path, errno);
    if (count == 0) break;
    filled += static_cast<std::size_t>(count);
  }
  text.resize(filled);
  return text;
}

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::optional<std::string> text = read_file_if_present(path, max_bytes);
  if (!text) fail_to_read(path, ENOENT);
  return *text;
}

} // namespace launcher
