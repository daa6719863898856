#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "matrix/embedded_json.hpp"
#include "matrix/matrix.hpp"
#include "matrix/version.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::matrix::Variant;

namespace {

const matrix::Row& row(const std::string& torch, const std::string& cuda) {
  for (const auto& candidate : matrix::embedded_matrix().rows)
    if (candidate.torch == torch && candidate.cuda == cuda) return candidate;
  FAIL("no matrix row for torch " << torch << " cuda '" << cuda << "'");
  throw;
}

} // namespace

TEST_CASE("the embedded matrix is images/matrix.json as built", "[matrix]") {
  CHECK(matrix::embedded_matrix_json() == read_file(testing::fixture("../../images/matrix.json")));
}

TEST_CASE("the embedded matrix is consistent", "[matrix]") {
  std::vector<std::string> problems = matrix::consistency_problems(matrix::embedded_matrix());
  for (const auto& problem : problems)
    UNSCOPED_INFO(problem);
  CHECK(problems.empty());
}

TEST_CASE("torch 2.7.1 has rows for CUDA 11.8, 12.6, 12.8 and CPU, and later releases follow", "[matrix]") {
  CHECK(row("2.7.1", "11.8").min_driver == "520.61.05");
  CHECK(row("2.7.1", "12.6").min_driver == "560.35.05");
  CHECK(row("2.7.1", "12.8").min_driver == "570.26");
  CHECK(row("2.7.1", "12.8").ptx == std::vector<std::string>{"compute_120"});
  CHECK(row("2.7.1", "").is_cpu());
  for (const char* torch : {"2.8.0", "2.9.0", "2.9.1", "2.10.0", "2.11.0"})
    CHECK(row(torch, "12.8").torch == torch);
  CHECK(row("2.10.0", "13.0").min_driver == "580.65.06");
}

TEST_CASE("values the research marks unverified stay marked", "[matrix]") {
  CHECK(row("2.7.1", "11.8").unverified == std::vector<std::string>{"nccl", "cuda_archs", "ptx"});
  CHECK(row("2.7.1", "12.8").unverified.empty());
  CHECK(row("2.9.0", "13.0").nccl.empty());
  CHECK(row("2.9.0", "13.0").is_unverified("nccl"));
  CHECK(row("2.11.0", "").is_unverified("torchaudio"));
  CHECK(row("2.11.0", "13.0").is_unverified("cudnn"));
}

TEST_CASE("image tags are derived from the row", "[matrix]") {
  CHECK(matrix::image_tag(row("2.7.1", "12.8"), Variant::devel) == "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04");
  CHECK(matrix::image_tag(row("2.7.1", "12.8"), Variant::runtime) ==
        "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04-runtime");
  CHECK(matrix::image_tag(row("2.7.1", "11.8"), Variant::devel) == "pytorch-cuda:2.7.1-cu118-cudnn9-ubuntu22.04");
  CHECK(matrix::image_tag(row("2.7.1", ""), Variant::runtime) == "pytorch-cpu:2.7.1-debian12");
  CHECK(matrix::image_tags(row("2.7.1", "")).size() == 1);
}

TEST_CASE("an image reference finds its row whatever its registry, path or digest", "[matrix]") {
  const matrix::Matrix& table = matrix::embedded_matrix();
  auto match = matrix::find_by_image(
      table, "registry.example.com:5000/team/pytorch-cuda:2.7.1-cu126-cudnn9-ubuntu24.04-runtime@sha256:0123");
  REQUIRE(match);
  CHECK(match->row == &row("2.7.1", "12.6"));
  CHECK(match->variant == Variant::runtime);
  CHECK_FALSE(matrix::find_by_image(table, "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"));
  CHECK_FALSE(matrix::find_by_image(table, "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04-slim"));
}

TEST_CASE("the consistency check names each broken field", "[matrix]") {
  matrix::Matrix broken = matrix::embedded_matrix();
  matrix::Row& cu128 = broken.rows[2];
  REQUIRE(matrix::image_tag(cu128, Variant::devel) == "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04");
  cu128.nccl.clear();
  cu128.min_driver = "560.35.05";
  cu128.base_image = "nvidia/cuda:12.6.3-devel-ubuntu24.04";
  cu128.cuda_archs.push_back("120");
  cu128.unverified.push_back("price");
  broken.rows[0].os = "ubuntu24.04";
  broken.rows.push_back(broken.rows[1]);
  CHECK(
      matrix::consistency_problems(broken) ==
      std::vector<std::string>{
          "pytorch-cuda:2.7.1-cu118-cudnn9-ubuntu24.04: base_image \"nvidia/cuda:11.8.0-devel-ubuntu22.04\" is not "
          "nvidia/cuda:11.8.Z-devel-ubuntu24.04",
          "pytorch-cuda:2.7.1-cu118-cudnn9-ubuntu24.04: runtime_base_image \"nvidia/cuda:11.8.0-base-ubuntu22.04\" is "
          "not nvidia/cuda:11.8.Z-base-ubuntu24.04",
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: \"unverified\" names an unknown field \"price\"",
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: nccl is empty and not marked unverified",
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: min_driver 560.35.05 differs from CUDA 12.8.0's minimum 570.26",
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: cuda_archs entry \"120\" is not sm_XY",
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: base_image \"nvidia/cuda:12.6.3-devel-ubuntu24.04\" is not "
          "nvidia/cuda:12.8.Z-devel-ubuntu24.04",
          "pytorch-cuda:2.7.1-cu126-cudnn9-ubuntu24.04: derived by two rows",
          "pytorch-cuda:2.7.1-cu126-cudnn9-ubuntu24.04-runtime: derived by two rows",
      });
}

TEST_CASE("a malformed matrix is an error naming the file", "[matrix]") {
  testing::require_error([] { matrix::parse_matrix(R"({"rows": [{"torch": "2.7.1"}]})"); }, ExitCode::failed,
                         "images/matrix.json is malformed: key 'torchvision' not found");
}

TEST_CASE("versions compare field by field as numbers", "[matrix]") {
  CHECK(matrix::compare_versions("570.124.06", "570.26") > 0);
  CHECK(matrix::compare_versions("550.54.15", "560.35.05") < 0);
  CHECK(matrix::compare_versions("12.8", "12.8.0") == 0);
  CHECK(matrix::compare_versions("20.10.24+dfsg1", "28.0") < 0);
  CHECK(matrix::compare_versions("28.0.0-rc.1", "28.0") == 0);
  CHECK(matrix::major_version("470.199.02") == 470);
}

namespace {

const std::filesystem::path repository_root = testing::fixture("../..");

std::optional<std::string> read_repository_file(const std::string& path) {
  return read_file_if_present(repository_root / path);
}

std::vector<std::string> committed_lock_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(repository_root / "images/locks"))
    files.push_back("images/locks/" + entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

const matrix::Row& built_here_row() {
  for (const auto& candidate : matrix::embedded_matrix().rows)
    if (candidate.built_here) return candidate;
  FAIL("no matrix row is built here");
  throw;
}

} // namespace

TEST_CASE("the committed locks match their rows: pinned, hashed, and the row's torch, cuDNN, NCCL and CUDA",
          "[matrix][locks]") {
  const matrix::Row& built = built_here_row();
  CHECK(matrix::image_tag(built, Variant::devel) == "pytorch-cuda:2.7.1-cu126-cudnn9-debian12");
  CHECK(built.locks.at("torch") == "images/locks/torch-2.7.1-cu126-cp311.txt");
  CHECK_FALSE(row("2.7.1", "11.8").built_here);
  CHECK(row("2.7.1", "12.8").wheel_index.rfind("https://download.pytorch.org/whl/cu128", 0) == 0);
  std::vector<std::string> problems =
      matrix::lock_problems(matrix::embedded_matrix(), committed_lock_files(), read_repository_file);
  for (const auto& problem : problems)
    UNSCOPED_INFO(problem);
  CHECK(problems.empty());
  auto torch_lock = matrix::parse_lock(*read_repository_file(built.locks.at("torch")));
  CHECK(torch_lock.size() > 25);
  for (const char* name : {"torch", "triton", "nvidia-cublas-cu12", "nvidia-cudnn-cu12", "nvidia-nccl-cu12"})
    CHECK(std::any_of(torch_lock.begin(), torch_lock.end(), [&](const auto& package) { return package.name == name; }));
}

TEST_CASE("a lock that does not match its row is refused, naming the row or the file", "[matrix][locks]") {
  matrix::Matrix table = matrix::embedded_matrix();
  const std::string torch_path = "images/locks/torch-2.7.1-cu126-cp311.txt";
  std::string hash(64, 'a');
  auto read = [&](const std::string& path) -> std::optional<std::string> {
    if (path == torch_path)
      return "# a lock\ntorch==2.7.0 \\\n    --hash=sha256:" + hash +
             "\ntorchvision==0.22.1\ntorchaudio>=2.7\n"
             "nvidia-cudnn-cu12==9.5.1.17 --hash=sha256:" +
             hash + "\nnvidia-nccl-cu12==2.26.2 --hash=sha256:" + hash + "\n";
    if (path.find("devel-") != std::string::npos) return "nvidia-cuda-nvcc-cu12==12.8.93 --hash=sha256:" + hash + "\n";
    return read_repository_file(path);
  };
  std::vector<std::string> files = committed_lock_files();
  files.push_back("images/locks/torch-2.7.1-cu129-cp311.txt");
  for (auto& candidate : table.rows)
    if (candidate.cuda == "12.8" && candidate.torch == "2.7.1") candidate.built_here = true;
  const std::string row_name = "pytorch-cuda:2.7.1-cu126-cudnn9-debian12: ";
  CHECK(
      matrix::lock_problems(table, files, read) ==
      std::vector<std::string>{
          "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04: is built here but names no locks",
          row_name + torch_path + ": torchvision has no --hash=sha256",
          row_name + torch_path + ": torchaudio is not pinned with ==",
          row_name + torch_path + ": torchaudio has no --hash=sha256",
          row_name + torch_path + " pins torch==2.7.0, the row says 2.7.1",
          row_name + torch_path + " pins torchaudio==, the row says 2.7.1",
          row_name + "images/locks/devel-2.7.1-cu126-cp311.txt pins nvidia-cuda-nvcc-cu12==12.8.93, the row says 12.6",
          "images/locks/torch-2.7.1-cu129-cp311.txt: no matrix row names this lock",
      });
  table.rows.erase(
      std::remove_if(table.rows.begin(), table.rows.end(), [](const auto& candidate) { return candidate.built_here; }),
      table.rows.end());
  CHECK(matrix::lock_problems(table, committed_lock_files(), read_repository_file) ==
        std::vector<std::string>{"images/locks/devel-2.7.1-cu126-cp311.txt: no matrix row names this lock",
                                 "images/locks/services-2.7.1-cu126-cp311.txt: no matrix row names this lock",
                                 "images/locks/torch-2.7.1-cu126-cp311.txt: no matrix row names this lock"});
}
