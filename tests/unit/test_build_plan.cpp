#include <catch2/catch.hpp>

#include "build/build_plan.hpp"
#include "core/error.hpp"
#include "matrix/matrix.hpp"

using namespace launcher;

namespace {

build::BuildPlan plan(build::BuildRequest request) { return build::plan_build(matrix::embedded_matrix(), request); }

std::string usage_error(build::BuildRequest request) {
  try {
    plan(request);
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::usage);
    return error.what();
  }
  FAIL("no error");
  return "";
}

} // namespace

TEST_CASE("a CUDA build gets the row's wheel index, base image and versions", "[build]") {
  build::BuildPlan devel = plan({"2.7.1", "12.8", matrix::Variant::devel, "registry.example.com/team", false, ""});
  CHECK(devel.tag == "registry.example.com/team/pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04");
  CHECK(devel.args.at("BASE_IMAGE") == devel.row.base_image);
  CHECK(devel.args.at("TORCH_SOURCE") == "wheels");
  CHECK(devel.args.at("TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cu128");
  CHECK(devel.args.at("TORCHVISION_VERSION") == devel.row.torchvision);
  // The devel base has nvcc, cuBLAS and NCCL for gpu-probe; the runtime base gets them in the builder stage only.
  CHECK(devel.args.count("CUDA_DEV_PACKAGES") == 0);
  build::BuildPlan runtime = plan({"2.7.1", "11.8", matrix::Variant::runtime, "", false, ""});
  CHECK(runtime.args.at("BASE_IMAGE") == runtime.row.runtime_base_image);
  CHECK(runtime.args.at("CUDA_DEV_PACKAGES") ==
        "cuda-nvcc-11-8 cuda-cudart-dev-11-8 libcublas-dev-11-8 cuda-nvml-dev-11-8 libnccl-dev");
}

TEST_CASE("an offline build uses the local base and Debian's torch, and is named later", "[build]") {
  build::BuildPlan offline = plan({"2.7.1", "cpu", matrix::Variant::devel, "", true, "launcher-base:bookworm"});
  CHECK(offline.tag.empty());
  CHECK(offline.args == std::map<std::string, std::string>{{"BASE_IMAGE", "launcher-base:bookworm"}, {"TORCH_SOURCE", "debian"}});
}

TEST_CASE("build requests the matrix cannot serve are refused, naming what exists", "[build]") {
  CHECK(usage_error({"2.7.1", "12.8", matrix::Variant::devel, "", true, ""}) ==
        "--offline builds the CPU flavor from Debian's packages; add --cuda cpu");
  CHECK(usage_error({"2.7.1", "cpu", matrix::Variant::runtime, "", false, ""}) ==
        "--variant runtime is a CUDA flavor; the CPU image has one variant");
  std::string missing = usage_error({"1.0.0", "12.8", matrix::Variant::devel, "", false, ""});
  CHECK(missing.rfind("images/matrix.json has no row for torch 1.0.0 with CUDA 12.8; rows (torch/cuda): 2.7.1/11.8, 2.7.1/12.6", 0) == 0);
}
