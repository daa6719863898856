#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrix/matrix.hpp"

namespace launcher::build {

// What the user asked `launcher build` for.
struct BuildRequest {
  std::string torch = "2.7.1";
  std::string cuda = "12.8"; // or "cpu"
  matrix::Variant variant = matrix::Variant::devel;
  std::string registry; // prefix of the tag, "registry.example.com/team"
  bool offline = false; // Debian's CPU PyTorch on the local debootstrap base: no registry needed
  std::string offline_base = "launcher-base:bookworm";
  std::string os;   // the row's OS when two rows share torch and CUDA ("debian12"); empty: the first row
  std::string base; // FROM instead of the row's base image (here: the debootstrapped launcher-base:bookworm)
};

// Everything `docker build` is given. Pure.
struct BuildPlan {
  matrix::Row row;
  std::string tag; // empty until known: an offline build is named after the torch it got
  std::map<std::string, std::string> args;
};

// The matrix row asked for, its derived tag and the build args; throws Error(usage) naming
// the rows that exist when none matches, and for a row without locks (its wheels live on an
// index this build cannot use offline).
BuildPlan plan_build(const matrix::Matrix& matrix, const BuildRequest& request);

// The label build args from what the image reported at build time (torch: images/scripts/torch_facts.py;
// the devel variant's nvcc: "nvcc" of toolkit-facts.json, merged in) and the row's driver minimum:
// labels say what is inside, not what was hoped for.
std::map<std::string, std::string> label_args(const nlohmann::json& image_facts, const matrix::Row& row,
                                              const std::string& version, const std::string& revision);

// The tag of an offline build: pytorch-cpu:<the torch version it reports>-debian12.
std::string offline_tag(const nlohmann::json& torch_facts, const std::string& registry);

// "image X is not on this host: " and how to get it: the command of the launcher repository that
// builds that very tag (`make up` for the default image, `launcher build ...` for another tag of a
// locked row, `make image` for the offline CPU flavor), or `docker pull` for any other reference.
std::string missing_image_message(const matrix::Matrix& matrix, const std::string& image);

} // namespace launcher::build
