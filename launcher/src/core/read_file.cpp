#include "core/read_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace launcher {

namespace {

[[noreturn]] void fail_to_read(const std::filesystem::path& path, int error) {
  throw Error(ExitCode::failed, "failed to read: " + path.string() + ": " + std::strerror(error));
}

} // namespace

std::optional<std::string> read_file_if_present(const std::filesystem::path& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    fail_to_read(path, errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string read_file(const std::filesystem::path& path) {
  std::optional<std::string> text = read_file_if_present(path);
  if (!text) fail_to_read(path, ENOENT);
  return *text;
}

} // namespace launcher
