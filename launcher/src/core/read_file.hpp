#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace launcher {

// Files the launcher reads (profiles, team files, state) are small: one larger than this is a
// mistake (or /dev/zero behind a link), refused before it fills the memory.
inline constexpr std::size_t max_read_file_bytes = std::size_t{16} << 20;

// The whole file, bytes as they are; nullopt when nothing is at `path` (not even a link).
// Only a regular file is read: a directory, FIFO, socket or device, a dangling link, a link
// loop or a file over `max_bytes` is an Error "failed to read: <path>: <what it is>", found
// without blocking (a FIFO is opened non-blocking and never read). Any other failure is an
// Error "failed to read: <path>: <reason>".
std::optional<std::string> read_file_if_present(const std::filesystem::path& path,
                                                std::size_t max_bytes = max_read_file_bytes);

// The same, for a file that must exist: a missing one is that Error too.
std::string read_file(const std::filesystem::path& path, std::size_t max_bytes = max_read_file_bytes);

// "a directory", "a FIFO", "a character device", ...: what a file of this st_mode is.
std::string describe_file_type(unsigned mode);

// "16 MiB", "512 KiB", "100 bytes": a size limit as a message names it.
std::string describe_byte_limit(std::size_t bytes);

} // namespace launcher
