#include "slurm/sif.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "process/process.hpp"
#include "slurm/client.hpp"

namespace launcher::slurm {

namespace fs = std::filesystem;

namespace {

// The temporary directory of one build, removed whichever way the build ends.
class BuildDirectory {
public:
  explicit BuildDirectory(const fs::path& cache) : path_(cache / (".build-" + std::to_string(getpid()))) {
    std::error_code error;
    fs::create_directories(path_ / "tmp", error);
    if (error)
      throw Error(ExitCode::failed, "failed to create " + path_.string() + " to build the job's SIF in: " +
                                        error.message() + " (the profile's slurm.sif_cache)");
  }
  ~BuildDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  BuildDirectory(const BuildDirectory&) = delete;
  BuildDirectory& operator=(const BuildDirectory&) = delete;

  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

} // namespace

void build_sif(const engine::Engine& engine, const ClusterSettings& cluster, const PinnedImage& image,
               std::ostream& progress) {
  const fs::path sif = sif_path(cluster, image);
  if (fs::exists(sif)) return;
  if (!process::on_path(apptainer_program))
    throw Error(ExitCode::host_incapable,
                std::string(apptainer_program) + " is not on PATH: this host builds the job's image " + sif.string() +
                    " from `docker save` before sbatch; install Apptainer here "
                    "(https://apptainer.org/docs/admin/main/installation.html) or submit from a host that has it");
  BuildDirectory build(cluster.sif_cache);
  const fs::path archive = build.path() / "image.tar";
  const fs::path partial = build.path() / sif.filename();
  progress << "launcher: building " << sif.string() << " from image " << image.name << " (once per image digest)\n";
  engine.save_image(image.run_reference(), archive.string(), "save the image for apptainer");
  process::ProcessOptions options;
  options.show_output = true;
  options.extra_env = {"APPTAINER_TMPDIR=" + (build.path() / "tmp").string(),
                       "APPTAINER_CACHEDIR=" + (fs::path(cluster.sif_cache) / ".cache").string()};
  process::ProcessResult built = process::run_process(
      {apptainer_program, "build", partial.string(), "docker-archive://" + archive.string()}, options);
  if (built.exit_code != 0)
    throw Error(ExitCode::failed, "failed to build the job's SIF: apptainer build exited " +
                                      std::to_string(built.exit_code) + " (its output is above)");
  std::error_code error;
  fs::rename(partial, sif, error);
  if (error) throw Error(ExitCode::failed, "failed to move the SIF to " + sif.string() + ": " + error.message());
}

} // namespace launcher::slurm
