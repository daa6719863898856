#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "build/build_plan.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
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

TEST_CASE("a CUDA build with locks gets the row's locks, Python and base image, or what --base and --os choose",
          "[build]") {
  build::BuildPlan devel =
      plan({"2.7.1", "12.6", matrix::Variant::devel, "registry.example.com/team", false, "", "debian12", ""});
  CHECK(devel.tag == "registry.example.com/team/pytorch-cuda:2.7.1-cu126-cudnn9-debian12");
  CHECK(devel.args ==
        std::map<std::string, std::string>{{"BASE_IMAGE", "debian:bookworm-slim"},
                                           {"TORCH_SOURCE", "wheels"},
                                           {"VARIANT", "devel"},
                                           {"PYTHON_VERSION", "3.11"},
                                           {"TORCH_LOCK", "images/locks/torch-2.7.1-cu126-cp311.txt"},
                                           {"SERVICES_LOCK", "images/locks/services-2.7.1-cu126-cp311.txt"},
                                           {"DEVEL_LOCK", "images/locks/devel-2.7.1-cu126-cp311.txt"}});
  build::BuildPlan runtime =
      plan({"2.7.1", "12.6", matrix::Variant::runtime, "", false, "", "debian12", "launcher-base:bookworm"});
  CHECK(runtime.tag == "pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime");
  CHECK(runtime.args.at("BASE_IMAGE") == "launcher-base:bookworm");
  CHECK(runtime.args.at("VARIANT") == "runtime");
}

TEST_CASE("a row without locks is refused, naming the index its wheels live on", "[build]") {
  CHECK(
      usage_error({"2.7.1", "12.8", matrix::Variant::devel, "", false, "", "", ""}) ==
      "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04 has no locks in images/matrix.json: its wheels live on "
      "https://download.pytorch.org/whl/cu128 (another index, not reachable here); rows with locks build offline from "
      "the wheel cache (tools/lock.py writes a lock)");
  CHECK(usage_error({"2.7.1", "12.6", matrix::Variant::devel, "", false, "", "ubuntu26.04", ""})
            .rfind("images/matrix.json has no row for torch 2.7.1 with CUDA 12.6 on ubuntu26.04; rows", 0) == 0);
}

TEST_CASE("an offline build uses the local base and Debian's torch, and is named later", "[build]") {
  build::BuildPlan offline = plan({"2.7.1", "cpu", matrix::Variant::devel, "", true, "launcher-base:bookworm", "", ""});
  CHECK(offline.tag.empty());
  // Every argument a `FROM name-${ARG}` reads is given (Buildah resolves the stages from them alone).
  CHECK(offline.args == std::map<std::string, std::string>{{"BASE_IMAGE", "launcher-base:bookworm"},
                                                           {"TORCH_SOURCE", "debian"},
                                                           {"VARIANT", "runtime"}});
}

TEST_CASE("build requests the matrix cannot serve are refused, naming what exists", "[build]") {
  CHECK(usage_error({"2.7.1", "12.8", matrix::Variant::devel, "", true, "", "", ""}) ==
        "--offline builds the CPU flavor from Debian's packages; add --cuda cpu");
  CHECK(usage_error({"2.7.1", "cpu", matrix::Variant::runtime, "", false, "", "", ""}) ==
        "--variant runtime is a CUDA flavor; the CPU image has one variant");
  std::string missing = usage_error({"1.0.0", "12.8", matrix::Variant::devel, "", false, "", "", ""});
  CHECK(missing.rfind(
            "images/matrix.json has no row for torch 1.0.0 with CUDA 12.8; rows (torch/cuda): 2.7.1/11.8, 2.7.1/12.6",
            0) == 0);
}

TEST_CASE("labels are what torch reported: release without its local CUDA part, cuDNN as a version, arch flags",
          "[build]") {
  build::BuildPlan built =
      plan({"2.7.1", "12.6", matrix::Variant::runtime, "", false, "", "debian12", "launcher-base:bookworm"});
  nlohmann::json facts = {{"torch", "2.7.1+cu126"},
                          {"cuda", "12.6"},
                          {"cudnn", 90501},
                          {"nccl", "2.26.2"},
                          {"cuda_archs", {"sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"}}};
  auto labels = build::label_args(facts, built.row, "2.7.1-cu126-cudnn9-debian12-runtime", "abc");
  CHECK(labels.at("LABEL_TORCH") == "2.7.1");
  CHECK(labels.at("LABEL_CUDA") == "12.6");
  CHECK(labels.at("LABEL_CUDNN") == "9.5.1");
  CHECK(labels.at("LABEL_NCCL") == "2.26.2");
  CHECK(labels.at("LABEL_CUDA_ARCHS") == "sm_50,sm_60,sm_70,sm_75,sm_80,sm_86,sm_90");
  CHECK(labels.at("LABEL_MIN_DRIVER") == "560.35.05");
  CHECK(labels.at("LABEL_NVCC") == "none");
}

TEST_CASE("the devel variant's label names nvcc's release beside the CUDA runtime torch loads", "[build]") {
  build::BuildPlan built =
      plan({"2.7.1", "12.6", matrix::Variant::devel, "", false, "", "debian12", "launcher-base:bookworm"});
  nlohmann::json facts = {{"torch", "2.7.1+cu126"}, {"cuda", "12.6"}, {"nvcc", "12.4"}};
  auto labels = build::label_args(facts, built.row, "2.7.1-cu126-cudnn9-debian12", "abc");
  CHECK(labels.at("LABEL_CUDA") == "12.6");
  CHECK(labels.at("LABEL_NVCC") == "12.4");
  CHECK(labels.at("LABEL_CUDNN") == "none");
}

TEST_CASE("an image the host lacks is named with the command that builds that very tag, or a pull", "[build]") {
  const matrix::Matrix& table = matrix::embedded_matrix();
  CHECK(build::missing_image_message(table, "pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime") ==
        "image pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime is not on this host: `make up` in the launcher "
        "repository builds it and starts JupyterLab on it (`make real-image` only builds it), or pull it (`docker "
        "pull pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime`)");
  CHECK(build::missing_image_message(table, "registry.example.com/team/pytorch-cuda:2.7.1-cu126-cudnn9-debian12") ==
        "image registry.example.com/team/pytorch-cuda:2.7.1-cu126-cudnn9-debian12 is not on this host: `launcher "
        "build --torch 2.7.1 --cuda 12.6 --os debian12 --registry registry.example.com/team` in the launcher "
        "repository builds it, or pull it (`docker pull registry.example.com/team/pytorch-cuda:2.7.1-cu126-cudnn9-"
        "debian12`)");
  CHECK(build::missing_image_message(table, "pytorch-cpu:1.13.0a0-debian12") ==
        "image pytorch-cpu:1.13.0a0-debian12 is not on this host: `make image` in the launcher repository builds the "
        "offline CPU image, tagged pytorch-cpu:<the version of Debian's torch>-debian12 (`make up FLAVOR=offline` also "
        "starts JupyterLab on it), or pull it (`docker pull pytorch-cpu:1.13.0a0-debian12`)");
  // No build makes a digest, a row without locks, or another registry's image: only a pull gets them.
  for (const std::string image : {"pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime@sha256:0123",
                                  "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04", "launcher-e2e/absent:1.0"})
    CHECK(build::missing_image_message(table, image) ==
          "image " + image + " is not on this host: pull it (`docker pull " + image + "`)");
}

TEST_CASE("the default image is what make up builds: the Makefile's REAL_IMAGE_ROW", "[build]") {
  std::string makefile = read_file(std::string(LAUNCHER_SOURCE_DIR) + "/Makefile");
  std::smatch row;
  REQUIRE(std::regex_search(makefile, row, std::regex(R"(\nREAL_IMAGE_ROW \?= ([^\n]*))")));
  std::istringstream words(row[1].str());
  std::map<std::string, std::string> options;
  for (std::string option, value; words >> option >> value;)
    options[option] = value;
  CHECK(options.size() == 5); // --torch, --cuda, --os, --variant, --base: nothing this test would miss
  CHECK(options["--variant"] == "runtime");
  build::BuildRequest request;
  request.torch = options["--torch"];
  request.cuda = options["--cuda"];
  request.os = options["--os"];
  request.base = options["--base"];
  request.variant = matrix::Variant::runtime;
  CHECK(plan(request).tag == matrix::default_image_tag(matrix::embedded_matrix()));
  CHECK(matrix::default_image_tag(matrix::embedded_matrix()) == "pytorch-cuda:2.7.1-cu126-cudnn9-debian12-runtime");
}
