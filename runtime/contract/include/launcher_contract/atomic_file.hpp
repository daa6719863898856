#pragma once

// Both programs write files that the other program, or a service, reads whole: the launcher the
// secrets launcher-init reads, launcher-init the configs sshd and Jupyter read. One way to write
// them; each side turns a failure into its own error.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace launcher::contract {

// The step that failed: "failed to <verb>: <object>: <strerror(error)>".
struct WriteFailure {
  std::string verb;
  std::filesystem::path object;
  int error = 0;
};

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Writes `path` so that it is either wholly old or wholly new, with `mode` (and `owner`) from the
// first byte: a temporary file in the same directory, fsync, rename, fsync of the directory (the
// rename itself survives a crash only then). A bare file name is written in the working directory.
// Every step is checked (write, fsync, close, rename, the directory's fsync); a failure leaves
// the old file as it was and no temporary file behind.
inline std::optional<WriteFailure> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                                         mode_t mode, std::optional<FileOwner> owner = std::nullopt) {
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string temporary = (directory / ("." + path.filename().string() + ".XXXXXX")).string();
  const int file = mkostemp(temporary.data(), O_CLOEXEC);
  if (file < 0) return WriteFailure{"create a file in", directory, errno};
  auto discard = [&](const char* verb) {
    WriteFailure failure{verb, temporary, errno};
    close(file);
    unlink(temporary.c_str());
    return failure;
  };
  if (owner && fchown(file, owner->uid, owner->gid) != 0) return discard("change the owner of");
  if (fchmod(file, mode) != 0) return discard("set the mode of");
  for (std::size_t written = 0; written < content.size();) {
    const ssize_t count = write(file, content.data() + written, content.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return discard("write");
    written += static_cast<std::size_t>(count);
  }
  if (fsync(file) != 0) return discard("flush");
  // A file system may report a lost write only at close (NFS); EINTR leaves the descriptor closed
  // and the data already flushed.
  if (close(file) != 0 && errno != EINTR) {
    WriteFailure failure{"close", temporary, errno};
    unlink(temporary.c_str());
    return failure;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    WriteFailure failure{"replace", path, errno};
    unlink(temporary.c_str());
    return failure;
  }
  const int parent = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool flushed = parent >= 0 && fsync(parent) == 0;
  WriteFailure failure{"flush directory", directory, errno};
  if (parent >= 0) close(parent);
  if (!flushed) return failure;
  return std::nullopt;
}

} // namespace launcher::contract
