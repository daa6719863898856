#pragma once

#include <ostream>

#include "engine/engine.hpp"
#include "slurm/job.hpp"

namespace launcher::slurm {

// What the submitting host builds the apptainer runtime's image with; missing from PATH, build_sif
// says so in one line with the fix.
inline constexpr const char* apptainer_program = "apptainer";

// The apptainer runtime's SIF of the job's image (sif_path), built on the submitting host before
// sbatch unless it is there already (one per image digest): `docker save` of the image the job
// pins into an archive, then `apptainer build` from docker-archive:// (docker-daemon: breaks on
// Docker 25 and later, apptainer#1965). APPTAINER_TMPDIR and APPTAINER_CACHEDIR are under the
// cache directory, not $HOME, where the layers would take gigabytes of the user's quota. The SIF
// appears whole or not at all (built under a temporary name, then renamed); the archive goes.
// Errors: apptainer not on PATH is Error(host_incapable); a failed save or build Error(failed).
void build_sif(const engine::Engine& engine, const ClusterSettings& cluster, const PinnedImage& image,
               std::ostream& progress);

} // namespace launcher::slurm
