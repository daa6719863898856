#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace launcher::secrets {

// Creates the directory and its missing parents with mode 0700; an existing one that others
// can read, or that belongs to another user, is an error naming it.
void ensure_private_dir(const std::filesystem::path& dir);

// Writes a file of mode 0600 so that it is either wholly old or wholly new: a temporary
// file in the same directory, fsync, rename, fsync of the directory.
void write_private_file(const std::filesystem::path& path, const std::string& content);

std::optional<std::string> read_private_file(const std::filesystem::path& path);

} // namespace launcher::secrets
