#include "files.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "error.hpp"
#include "launcher_contract/atomic_file.hpp"

namespace launcher_init {
namespace {

constexpr off_t max_secret_size = 64 * 1024;

class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

std::string read_all(int fd, const std::filesystem::path& path) {
  std::string content;
  char buffer[8192];
  while (true) {
    ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw system_failure("read", path.string());
    if (count == 0) return content;
    content.append(buffer, static_cast<std::size_t>(count));
  }
}

void set_mode_and_owner(const std::filesystem::path& path, mode_t mode, Ownership owner) {
  if (::lchown(path.c_str(), owner.uid, owner.gid) != 0) throw system_failure("change owner of", path.string());
  if (::chmod(path.c_str(), mode) != 0) throw system_failure("change mode of", path.string());
}

} // namespace

bool write_fully(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t count = ::write(fd, text.data(), text.size());
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return false;
    text.remove_prefix(static_cast<std::size_t>(count));
  }
  return true;
}

std::string read_file(const std::filesystem::path& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) throw system_failure("read", path.string());
  return read_all(file.get(), path);
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::nullopt;
  return read_file(path);
}

std::optional<std::string> read_secret(const std::filesystem::path& path, bool optional) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (file.get() < 0 && errno == ENOENT && optional) return std::nullopt;
  if (file.get() < 0) throw system_failure("read secret", path.string());
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw system_failure("read secret", path.string());
  if (!S_ISREG(status.st_mode)) throw failure("read secret", path.string(), "not a regular file");
  if (status.st_size > max_secret_size) throw failure("read secret", path.string(), "larger than 64 KiB");
  return read_all(file.get(), path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode, Ownership owner) {
  if (auto failure = launcher::contract::write_file_atomically(path, content, mode,
                                                               launcher::contract::FileOwner{owner.uid, owner.gid})) {
    throw system_failure(failure->verb, failure->object.string(), failure->error);
  }
}

void ensure_directory(const std::filesystem::path& path, mode_t mode, Ownership owner) {
  create_directory_if_missing(path, mode, owner);
  set_mode_and_owner(path, mode, owner);
}

void create_directory_if_missing(const std::filesystem::path& path, mode_t mode, Ownership owner) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) return;
    throw failure("create directory", path.string(), "exists and is not a directory");
  }
  if (path.has_parent_path() && path.parent_path() != path) {
    create_directory_if_missing(path.parent_path(), 0755, root_ownership);
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw system_failure("create directory", path.string());
  set_mode_and_owner(path, mode, owner);
}

void remove_files_with_prefix(const std::filesystem::path& directory, std::string_view prefix) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (!entry.path().filename().string().starts_with(prefix)) continue;
    if (entry.is_directory(error) && !entry.is_symlink(error)) continue;
    if (::unlink(entry.path().c_str()) != 0) throw system_failure("remove", entry.path().string());
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    throw failure("list", directory.string(), error.message());
  }
}

std::optional<std::string> find_program(std::string_view name, std::string_view search_path) {
  if (name.find('/') != std::string_view::npos) {
    std::string path(name);
    if (::access(path.c_str(), X_OK) == 0) return path;
    return std::nullopt;
  }
  while (true) {
    auto colon = search_path.find(':');
    auto directory = search_path.substr(0, colon);
    if (!directory.empty()) {
      auto candidate = std::string(directory) + "/" + std::string(name);
      struct stat status {};
      if (::stat(candidate.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
          ::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    if (colon == std::string_view::npos) return std::nullopt;
    search_path.remove_prefix(colon + 1);
  }
}

bool is_on_tmpfs(const std::filesystem::path& path) {
  struct statfs status {};
  if (::statfs(path.c_str(), &status) != 0) return false;
  return status.f_type == TMPFS_MAGIC || status.f_type == RAMFS_MAGIC;
}

} // namespace launcher_init
