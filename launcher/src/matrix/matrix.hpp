#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace launcher::matrix {

// One image of images/matrix.json: a torch release built for one CUDA variant, or for CPU.
struct Row {
  std::string torch;
  std::string torchvision;
  std::string torchaudio;
  std::string cuda;      // "12.8"; empty for a CPU row
  std::string cuda_full; // the CUDA runtime the torch wheels load, "12.8.0"
  std::string cudnn;
  std::string nccl;
  std::string min_driver;              // Linux driver minimum of cuda_full
  std::vector<std::string> cuda_archs; // cubins compiled in: "sm_90"
  std::vector<std::string> ptx;        // PTX the driver can JIT: "compute_120"
  std::string os;                      // "ubuntu24.04", "debian12"
  std::string python;
  std::string base_image;              // FROM of the devel image (the only image of a CPU row)
  std::string runtime_base_image;      // FROM of the slim CUDA image
  std::vector<std::string> unverified; // fields that are a best reading, not a verified fact
  // Hash-locked requirement files (repository paths) by purpose: "torch", "services", "devel".
  // A row with locks installs from the wheel cache with no index; one without uses wheel_index.
  std::map<std::string, std::string> locks;
  bool built_here = false; // built and tested by this project's CI
  std::string wheel_index; // where the wheels of a row without locks live

  bool is_cpu() const { return cuda.empty(); }
  bool is_unverified(std::string_view field) const;
};

struct CudaToolkit {
  std::string min_driver;
  std::vector<int> forward_compat_branches; // data-center driver branches cuda-compat supports
};

struct Matrix {
  std::vector<Row> rows;
  std::map<std::string, CudaToolkit> toolkits; // by full version, "12.8.1"
  // The oldest driver that runs CUDA <major>.x applications in minor-version compatibility mode.
  std::map<int, std::string> minor_version_floor;

  const CudaToolkit* toolkit(const std::string& cuda_full) const;
};

// devel carries nvcc; runtime is the slim image. CPU rows have one image, tagged like devel.
enum class Variant { devel, runtime };

std::string variant_name(Variant variant);

// pytorch-cuda:<torch>-cu<cuda>-cudnn<major>-<os>[-runtime] or pytorch-cpu:<torch>-<os>.
std::string image_tag(const Row& row, Variant variant);

// Every tag a row builds.
std::vector<std::string> image_tags(const Row& row);

// The image `make up` builds and the built-in profiles run when nothing else names one: the slim
// (runtime) image of the first row built here from locked wheels (the Makefile's REAL_IMAGE_ROW).
std::string default_image_tag(const Matrix& matrix);

struct TagMatch {
  const Row* row = nullptr;
  Variant variant = Variant::devel;
};

// The row an image reference was built from, judged by its repository name and tag: the
// registry, the path above the name and a digest do not matter.
std::optional<TagMatch> find_by_image(const Matrix& matrix, std::string_view image_ref);

// Parses the text of images/matrix.json; throws Error naming what is wrong.
Matrix parse_matrix(std::string_view text);

// The matrix compiled into this binary (see launcher/matrix.cmake).
const Matrix& embedded_matrix();

// Every inconsistency found, one sentence each; empty when the matrix is sound.
std::vector<std::string> consistency_problems(const Matrix& matrix);

// One `name==version --hash=sha256:...` entry of a lock file; names are PEP 503-normalised.
struct LockedPackage {
  std::string name;
  std::string version;
  std::vector<std::string> sha256; // hex digests pip accepts for this package
};

// The entries of a requirements file written by tools/lock.py (comments and continuations allowed).
// An entry without "==" is kept with an empty version, so the consistency check can name it.
std::vector<LockedPackage> parse_lock(std::string_view text);

// The lock files of the rows against the rows, one sentence each naming the row or the file:
// a missing file, an entry not pinned with == or without a sha256, torch/torchvision/torchaudio,
// cuDNN or NCCL not the row's, nvcc not the row's CUDA, a built_here row without locks, and a
// file in lock_dir that no row names. `read` returns a file's text, or nullopt when it is absent.
std::vector<std::string> lock_problems(const Matrix& matrix, const std::vector<std::string>& files_in_lock_dir,
                                       const std::function<std::optional<std::string>(const std::string&)>& read);

} // namespace launcher::matrix
