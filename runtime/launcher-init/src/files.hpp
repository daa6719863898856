#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace launcher_init {

struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
};

inline constexpr Ownership root_ownership{0, 0};

// Writes all of `text`, retrying short writes; false (errno set) on failure.
bool write_fully(int fd, std::string_view text);

std::string read_file(const std::filesystem::path& path);
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);

// A mounted secret: a regular file (no symlink followed), small; nullopt when it does not exist
// and `optional` is set.
std::optional<std::string> read_secret(const std::filesystem::path& path, bool optional = false);

// launcher::contract::write_file_atomically, shared with the launcher: readers see the old or the
// new content, never a half-written file, and mode and owner are right from the first byte.
void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode, Ownership owner);

// Creates missing parents (root, 0755) and `path`, then sets its mode and owner.
void ensure_directory(const std::filesystem::path& path, mode_t mode, Ownership owner);

// Like ensure_directory, but leaves an existing directory (a mounted volume) as it is.
void create_directory_if_missing(const std::filesystem::path& path, mode_t mode, Ownership owner);

// Removes the regular files and symlinks in `directory` whose names start with `prefix`.
void remove_files_with_prefix(const std::filesystem::path& directory, std::string_view prefix);

std::optional<std::string> find_program(std::string_view name, std::string_view search_path);

bool is_on_tmpfs(const std::filesystem::path& path);

} // namespace launcher_init
