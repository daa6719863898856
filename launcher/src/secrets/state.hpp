#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace launcher::secrets {

// Creates the directory and its missing parents with mode 0700; an existing one that others
// can read, or that belongs to another user, is an error naming it.
void ensure_private_dir(const std::filesystem::path& dir);

// Writes a file of mode 0600 so that it is either wholly old or wholly new: a temporary
// file in the same directory, fsync, rename, fsync of the directory.
void write_private_file(const std::filesystem::path& path, const std::string& content);

// Files of mode 0600 replaced together: each is written to a temporary file beside it and
// flushed first (stage), then all are renamed into place (commit), so a failure while writing
// leaves every old file as it was. Temporaries not committed are deleted.
class StagedFiles {
public:
  StagedFiles() = default;
  ~StagedFiles();
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;

  void stage(const std::filesystem::path& path, const std::string& content);
  void commit();

private:
  struct Staged {
    std::filesystem::path temporary;
    std::filesystem::path path;
  };
  std::vector<Staged> staged_;
};

std::optional<std::string> read_private_file(const std::filesystem::path& path);

} // namespace launcher::secrets
