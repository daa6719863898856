#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace launcher {

// The whole file, bytes as they are; nullopt when it does not exist. Any other failure is an
// Error "failed to read: <path>: <reason>".
std::optional<std::string> read_file_if_present(const std::filesystem::path& path);

// The same, for a file that must exist: a missing one is that Error too.
std::string read_file(const std::filesystem::path& path);

} // namespace launcher
