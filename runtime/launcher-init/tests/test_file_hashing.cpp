#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "file_hashing.hpp"

using namespace launcher_init;
namespace fs = std::filesystem;

namespace {

// A directory of its own under the system's temporary one, removed at the end.
struct TemporaryDirectory {
  fs::path path;
  TemporaryDirectory() {
    std::string pattern = (fs::temp_directory_path() / "file-hashing-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TemporaryDirectory() { fs::remove_all(path); }
};

fs::path write(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

const std::atomic<bool> go_on{false};

} // namespace

TEST_CASE("hash_file gives a file's SHA-256 in lowercase hex", "[file_hashing]") {
  TemporaryDirectory directory;
  // FIPS 180-2's examples.
  CHECK(hash_file(write(directory.path / "abc", "abc"), go_on).sha256 ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hash_file(write(directory.path / "empty", ""), go_on).sha256 ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Longer than one read: a million 'a's.
  CHECK(hash_file(write(directory.path / "million", std::string(1000000, 'a')), go_on).sha256 ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("hash_file says why a file has no hash: gone, a symlink, stopped", "[file_hashing]") {
  TemporaryDirectory directory;
  auto gone = hash_file(directory.path / "missing", go_on);
  CHECK(gone.sha256.empty());
  CHECK(gone.error == ENOENT);

  auto target = write(directory.path / "target", "secret");
  fs::create_symlink(target, directory.path / "link");
  CHECK(hash_file(directory.path / "link", go_on).error == ELOOP);

  const std::atomic<bool> stop{true};
  auto stopped = hash_file(target, stop);
  CHECK(stopped.sha256.empty());
  CHECK(stopped.error == ECANCELED);
}

TEST_CASE("BackgroundHashing gives every hash in the order of its paths", "[file_hashing]") {
  TemporaryDirectory directory;
  std::vector<fs::path> paths;
  for (int i = 0; i < 9; ++i)
    paths.push_back(write(directory.path / std::to_string(i), i == 4 ? "abc" : std::string(i * 1000, 'x')));
  paths.insert(paths.begin() + 2, directory.path / "missing");

  BackgroundHashing hashing(paths, 3);
  auto results = hashing.results();
  REQUIRE(results.size() == paths.size());
  CHECK(results[2].error == ENOENT);
  CHECK(results[5].sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i != 2) CHECK(results[i].sha256 == hash_file(paths[i], go_on).sha256);
  }
}

TEST_CASE("BackgroundHashing with nothing to hash, or stopped, ends at once", "[file_hashing]") {
  CHECK(BackgroundHashing({}, 4).results().empty());
  TemporaryDirectory directory;
  BackgroundHashing hashing({write(directory.path / "a", std::string(1 << 22, 'a'))}, 2);
  hashing.stop();
  auto results = hashing.results();
  REQUIRE(results.size() == 1);
  CHECK((results[0].error == ECANCELED || !results[0].sha256.empty()));
}
