#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace launcher {

// launcher::contract::write_file_atomically, shared with launcher-init; throws Error naming the
// step that failed.
void write_file_atomically(const std::filesystem::path& path, const std::string& content, mode_t mode);

} // namespace launcher
