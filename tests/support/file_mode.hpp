#pragma once

#include <sys/stat.h>

#include <filesystem>

#include <catch2/catch.hpp>

namespace launcher::testing {

// The permission bits of `path` itself (a link's own, never its target's); the test fails when
// it does not exist.
inline unsigned mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(lstat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

} // namespace launcher::testing
