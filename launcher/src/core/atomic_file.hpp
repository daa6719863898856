#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace launcher {

// Writes a file so that it is either wholly old or wholly new: a temporary file in the same
// directory with `mode`, fsync, rename, fsync of the directory. Throws Error naming the step.
void write_file_atomically(const std::filesystem::path& path, const std::string& content, mode_t mode);

} // namespace launcher
