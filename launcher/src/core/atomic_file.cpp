#include "core/atomic_file.hpp"

#include <cstring>

#include "core/error.hpp"
#include "launcher_contract/atomic_file.hpp"

namespace launcher {

void write_file_atomically(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  if (auto failure = contract::write_file_atomically(path, content, mode))
    throw Error(ExitCode::failed,
                "failed to " + failure->verb + ": " + failure->object.string() + ": " + std::strerror(failure->error));
}

} // namespace launcher
