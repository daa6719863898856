#pragma once

#include <string>

#include "slurm/job.hpp"

namespace launcher::slurm {

// Labels on a job's containers, so that `launcher cancel`, `scancel` and tests find them.
inline constexpr const char* label_cluster = "io.launcher.slurm-cluster";
inline constexpr const char* label_job = "io.launcher.slurm-job";
inline constexpr const char* label_node = "io.launcher.slurm-node";

// The runtimes, by the name the profile's slurm.runtime gives ("docker", "pyxis", "apptainer").
std::string runtime_name(Runtime runtime);
// A name not in the table is Error(usage) (the schema admits only the table's names).
Runtime runtime_named(const std::string& name);

// The plan fields (pointers into plan::to_json, as export's) that ask for something the job's
// runtime cannot express: its row of the table lists the fields it maps. What asks nothing of a
// runtime is not counted: the launcher's own labels (the job is known by its comment), docker's
// default CPU weight, a /dev/shm size and memlock limit the node decides (NodeDecided), a user
// that is root or the submitter (pyxis and apptainer run containers as the submitter, root as
// the submitter in a user namespace). `launcher submit` refuses the job unless --lossy.
std::vector<std::string> unexpressed_fields(const Job& job);

// What `submit` says of fields unexpressed_fields found that the launcher's own defaults set
// (the pids limit, the stack size), a line each: hardening the runtime does not carry is said on
// every submit but not refused, since a profile cannot unset it; a profile or flag that asks for
// the field is refused unless --lossy.
std::string unenforced_defaults_notice(const std::vector<std::string>& fields, Runtime runtime);

// The sbatch script of a job, pure, written by its runtime's row of the table (no runtime falls
// through to another): #SBATCH lines, the rendezvous, then one Slurm task per node that runs
// torchrun in the profile's image. Everything taken from the plan is shell-quoted.
// docker: the node checks the image's digest, then `docker run`s it on the host network with the
// GPUs Slurm allocated there, and removes the container when the task ends or is signalled.
// pyxis: `srun --container-image=…` with the mounts, workdir and secret-free environment.
// apptainer: each node's task runs `apptainer exec --containall` of the job's SIF (sif_path).
// On a node with InfiniBand (infiniband_block) every runtime hands the devices to the container.
// Throws Error(usage) for what the runtime cannot express (pyxis and apptainer: a mount path with
// ',' or ':'; pyxis: an image pinned only by a local image ID).
std::string render_script(const Job& job);

// Where a node has its InfiniBand devices.
inline constexpr const char* infiniband_directory = "/dev/infiniband";

// The lines of a node's task (in a function: they declare locals) that set the array infiniband
// to this node's InfiniBand devices in `directory` (infiniband_directory but in tests): each verbs
// device (uverbs*) and the RDMA connection manager (rdma_cm), looked for when the task runs, since
// nodes differ and the submitting host says nothing of them. Empty on a node without any.
std::string infiniband_block(const std::string& directory);

// The batch script's lines that run the torchrun step (`srun_command`, the script's step number
// `step`) and watch it: a node's task whose part fails sends the script USR1 (`scancel --batch`),
// since srun waits forever for a node whose slurmstepd died; the script then TERMs the step's tasks
// through Slurm, gives srun step_end_grace_seconds to end, and exits 1 (the job FAILED) either way.
// Otherwise the script exits with srun's status.
std::string watched_step(const std::string& srun_command, int step);

// The lines of a docker node's task (inside a function: they declare locals) that set the array
// node_options to `docker run` options with this node's values: --cpuset-cpus from the task's
// allowed CPUs; --memory/--memory-swap from SLURM_MEM_PER_NODE or SLURM_MEM_PER_CPU times
// SLURM_CPUS_ON_NODE, when Slurm gives either and the profile sets no limit; --shm-size and
// --ulimit memlock as Job::node_decided says (memlock unlimited on a node with InfiniBand). It
// also sets the array infiniband to the node's InfiniBand devices (infiniband_directory).
std::string node_values_block(const Job& job);

// The script's rendezvous lines: they export LAUNCHER_RENDEZVOUS=ADDRESS:PORT, the first node's
// NodeAddr (its name when Slurm has none) and a port drawn from /dev/urandom in
// [rendezvous_port_first, +rendezvous_port_count) that nothing answers on yet. torchrun's c10d
// store listens on that port on every interface of the first node (it has no bind address).
std::string rendezvous_block();

} // namespace launcher::slurm
