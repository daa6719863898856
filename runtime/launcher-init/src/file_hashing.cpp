#include "file_hashing.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

namespace launcher_init {

namespace fs = std::filesystem;

namespace {

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

class OpenFile {
public:
  explicit OpenFile(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) {}
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }

private:
  int fd_;
};

std::string hex(const unsigned char* bytes, unsigned size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (unsigned i = 0; i < size; ++i) {
    text.push_back(digits[bytes[i] >> 4]);
    text.push_back(digits[bytes[i] & 0xf]);
  }
  return text;
}

} // namespace

FileHash hash_file(const fs::path& path, const std::atomic<bool>& stop) {
  OpenFile file(path);
  if (file.fd() < 0) return {"", errno};
  ::posix_fadvise(file.fd(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<EVP_MD_CTX, DigestContextFree> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) return {"", ENOMEM};
  std::vector<unsigned char> buffer(1 << 20);
  while (true) {
    if (stop) return {"", ECANCELED};
    auto count = ::read(file.fd(), buffer.data(), buffer.size());
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return {"", errno};
    if (count == 0) break;
    if (EVP_DigestUpdate(context.get(), buffer.data(), static_cast<std::size_t>(count)) != 1) return {"", ENOMEM};
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  if (EVP_DigestFinal_ex(context.get(), digest, &size) != 1) return {"", ENOMEM};
  return {hex(digest, size), 0};
}

BackgroundHashing::BackgroundHashing(std::vector<fs::path> paths, unsigned threads)
    : shared_(std::make_unique<Shared>()) {
  shared_->paths = std::move(paths);
  shared_->hashes.resize(shared_->paths.size());
  auto count = std::clamp<std::size_t>(shared_->paths.size(), 0, std::max(1u, threads));
  for (std::size_t t = 0; t < count; ++t) {
    workers_.emplace_back([shared = shared_.get()] {
      for (auto i = shared->next++; i < shared->paths.size(); i = shared->next++)
        shared->hashes[i] = hash_file(shared->paths[i], shared->stop);
    });
  }
}

BackgroundHashing::~BackgroundHashing() { stop(); }

std::vector<FileHash> BackgroundHashing::results() {
  workers_.clear(); // joins
  return std::move(shared_->hashes);
}

void BackgroundHashing::stop() {
  shared_->stop = true;
  workers_.clear();
}

} // namespace launcher_init
