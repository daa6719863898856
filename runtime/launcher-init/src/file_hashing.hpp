#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace launcher_init {

// One file's SHA-256 (64 lowercase hex digits), or the errno of why it could not be read.
struct FileHash {
  std::string sha256; // "" when error says why there is none
  int error = 0;      // ECANCELED: stopped
};

// SHA-256 of the regular file at `path` by OpenSSL's libcrypto, whose SHA extensions hash about 4x as
// fast as coreutils' sha256sum here (1.1 against 0.3 GB/s a core): the hashing is what a first backup
// adds to the upload. A symlink is not followed (ELOOP). Gives up (ECANCELED) once `stop` is set.
FileHash hash_file(const std::filesystem::path& path, const std::atomic<bool>& stop);

// Hashes `paths` on up to `threads` threads in the background, so that the caller can upload meanwhile.
// Destroying it, or stop(), ends the threads early.
class BackgroundHashing {
public:
  BackgroundHashing(std::vector<std::filesystem::path> paths, unsigned threads);
  ~BackgroundHashing();
  BackgroundHashing(const BackgroundHashing&) = delete;
  BackgroundHashing& operator=(const BackgroundHashing&) = delete;

  const std::vector<std::filesystem::path>& paths() const { return shared_->paths; }
  // Waits for every hash and hands them over (call it once); in the order of paths().
  std::vector<FileHash> results();
  void stop();

private:
  struct Shared {
    std::vector<std::filesystem::path> paths;
    std::vector<FileHash> hashes;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
  };
  std::unique_ptr<Shared> shared_;
  std::vector<std::jthread> workers_;
};

} // namespace launcher_init
