#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "core/atomic_file.hpp"
#include "core/read_file.hpp"
#include "launcher_contract/contract.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace launcher;
using testing::TempDir;

namespace {

std::string dockerfile() { return read_file(std::string(LAUNCHER_SOURCE_DIR) + "/images/Dockerfile"); }

// Runs `action` with `dir` as the working directory.
template <class Action> void inside(const fs::path& dir, Action&& action) {
  fs::path before = fs::current_path();
  fs::current_path(dir);
  try {
    action();
  } catch (...) {
    fs::current_path(before);
    throw;
  }
  fs::current_path(before);
}

} // namespace

TEST_CASE("the image carries every label doctor reads, under the contract's names", "[contract]") {
  std::string text = dockerfile();
  for (const char* label :
       {contract::label::image_torch, contract::label::image_cuda, contract::label::image_cudnn,
        contract::label::image_nccl, contract::label::image_cuda_archs, contract::label::image_min_driver})
    CHECK(text.find(std::string(label) + "=\"${LABEL_") != std::string::npos);
}

TEST_CASE("the image's builder stage has the contract next to launcher-init", "[contract]") {
  // launcher-init's CMakeLists.txt finds the contract at ../contract.
  std::string text = dockerfile();
  CHECK(text.find("COPY runtime/contract /src/contract\n") != std::string::npos);
  CHECK(text.find("COPY runtime/launcher-init /src/launcher-init\n") != std::string::npos);
}

TEST_CASE("a bare file name is written atomically in the working directory", "[contract]") {
  TempDir dir;
  inside(dir.path, [] { write_file_atomically("notes.txt", "kept\n", 0640); });
  CHECK(read_file(dir.path / "notes.txt") == "kept\n");
  CHECK((fs::status(dir.path / "notes.txt").permissions() & fs::perms::all) == fs::perms(0640));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}
