// Issue 24: only regular files are read, never more than the limit, and nothing blocks.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "core/read_file.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
namespace fs = std::filesystem;
using launcher::testing::require_error;
using launcher::testing::TempDir;

TEST_CASE("a regular file is read whole, a missing one is absent", "[core][read_file]") {
  TempDir dir;
  dir.write("a.json", std::string("x\0y", 3));
  CHECK(read_file(dir.path / "a.json") == std::string("x\0y", 3));
  CHECK_FALSE(read_file_if_present(dir.path / "missing"));
  require_error([&] { read_file(dir.path / "missing"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "missing").string() + ": No such file or directory");
  // A link to a regular file is read through.
  fs::create_symlink(dir.path / "a.json", dir.path / "link.json");
  CHECK(read_file(dir.path / "link.json").size() == 3);
}

TEST_CASE("a directory, FIFO or device is named for what it is, and never blocks", "[core][read_file]") {
  TempDir dir;
  fs::create_directory(dir.path / "profiles.json");
  require_error([&] { read_file_if_present(dir.path / "profiles.json"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "profiles.json").string() + ": is a directory, not a regular file");
  // No writer: a blocking open would wait forever.
  REQUIRE(mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
  require_error([&] { read_file_if_present(dir.path / "fifo"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "fifo").string() + ": is a FIFO, not a regular file");
  // A link inside the temporary tree to a device (only ever opened for reading).
  fs::create_symlink("/dev/zero", dir.path / "zero");
  require_error([&] { read_file_if_present(dir.path / "zero"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "zero").string() + ": is a character device, not a regular file");
}

TEST_CASE("a dangling link or a link loop is an error, not an absent file", "[core][read_file]") {
  TempDir dir;
  fs::create_symlink(dir.path / "gone", dir.path / "dangling");
  require_error([&] { read_file_if_present(dir.path / "dangling"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "dangling").string() + ": is a symbolic link to " +
                    (dir.path / "gone").string() + ", which does not exist");
  fs::create_symlink(dir.path / "loop2", dir.path / "loop1");
  fs::create_symlink(dir.path / "loop1", dir.path / "loop2");
  require_error([&] { read_file_if_present(dir.path / "loop1"); }, ExitCode::failed,
                "failed to read: " + (dir.path / "loop1").string() +
                    ": is a symbolic link loop (or a chain of more than 40 links)");
}

TEST_CASE("a file over the limit is refused, naming the limit", "[core][read_file][limits]") {
  TempDir dir;
  dir.write("ten", "0123456789");
  CHECK(read_file(dir.path / "ten", 10) == "0123456789");
  require_error([&] { read_file(dir.path / "ten", 9); }, ExitCode::failed,
                "failed to read: " + (dir.path / "ten").string() + ": is larger than 9 bytes, the limit for this file");
  CHECK(max_read_file_bytes == 16u << 20);
  CHECK(describe_byte_limit(max_read_file_bytes) == "16 MiB");
  CHECK(describe_byte_limit(2048) == "2 KiB");
}

TEST_CASE("a file whose size says 0 is still read, up to the limit", "[core][read_file][limits]") {
  // /proc files report size 0 and hold text.
  CHECK_FALSE(read_file("/proc/self/status").empty());
  require_error([] { read_file("/proc/self/status", 16); }, ExitCode::failed,
                "failed to read: /proc/self/status: is larger than 16 bytes, the limit for this file");
}
