#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "profile/origin.hpp"
#include "profile/schema.hpp"

namespace launcher::slurm {

// How a cluster's nodes run containers, from the profile's "slurm" object; each is a row of
// script.cpp's table of runtimes (runtime_name, runtime_named).
enum class Runtime { docker, pyxis, apptainer };

struct ClusterSettings {
  Runtime runtime = Runtime::docker;
  std::string sif_cache; // apptainer: the directory on shared storage of the SIFs built from images
  bool pull = false;     // a docker node without the image pulls it by its repo digest
  std::string time;      // the job's time limit unless --time gives one; empty: the partition's
  int max_restarts = 0;  // torchrun restarts a node's workers this often before its part fails
};

// The profile's "slurm" settings (validated by the schema), defaults where it has none. The
// apptainer runtime without a sif_cache is Error(usage) naming where the runtime was set.
ClusterSettings cluster_settings(const profile::Sourced& profile);

// What `launcher submit` was asked, as typed.
struct JobRequest {
  int nodes = 0;
  int gpus_per_node = 0;
  std::optional<int> procs_per_node; // CPU jobs only: torchrun processes on each node
  std::string partition;             // empty: the cluster's default
  std::string time;                  // empty: the partition's default
  std::string account;
  std::string output;               // sbatch's --output pattern (%j: the job id); default: job_output_pattern
  std::vector<std::string> command; // what torchrun runs on every node: a script and its arguments
};

// A count flag's value (--nodes, --gpus-per-node, --procs-per-node) as typed: an optional sign and
// digits. An empty value or anything else is Error(usage) naming the flag and the value; the range
// is check_job_request's.
int parse_count_flag(const std::string& flag, const std::string& value);

// The command as torchrun takes it: torchrun runs the script with Python itself, so a leading
// "python", "python3" or "python3.N" is taken out ("python3 train.py" -> "train.py", "python3 -m
// pkg.train" -> "-m pkg.train", torchrun's own --module). One followed by another of Python's flags
// ("python3 -u train.py") is Error(usage) saying what to write instead. Returns what was taken out
// (empty when nothing was).
std::string take_out_python(std::vector<std::string>& command);

// Flag checks that need no cluster; Error(usage) naming the flag.
void check_job_request(const JobRequest& request);

// torchrun processes per node: one per GPU, or --procs-per-node (default 1) on CPU.
int processes_per_node(const JobRequest& request);

// The layer that makes a profile a batch job: the command runs as service "command", with no
// GPUs of the submit host (each node's come from Slurm's allocation). A service profile
// (jupyter, ssh), one that publishes ports or one that asks for GPUs (a profile's "gpus", --gpus;
// only "none" and "auto" pass) is refused naming where that was set.
profile::Sourced batch_layer(const profile::Sourced& merged, const std::string& profile_name,
                             const std::vector<std::string>& command, const profile::FieldContext& context);

// The image every node must hold, pinned: by the registry's digest when the profile pins one,
// otherwise by the image ID of the submit host's copy (a locally built image has no registry digest).
struct PinnedImage {
  enum class Kind { repo_digest, image_id };
  Kind kind = Kind::repo_digest;
  std::string name;   // the profile's reference without a digest: what nodes look up
  std::string digest; // "sha256:…": the repo digest or the image ID
  // What `docker run` gets on a node: "repo@sha256:…" or the image ID itself.
  std::string run_reference() const;
};

// The job's time limit and where it came from: a job without one holds its nodes forever when
// a part of it hangs, so a job always gets one.
struct TimeLimit {
  std::string value;  // as sbatch takes it; empty only where Slurm could not be asked (a dry run)
  std::string origin; // "--time", the profile's origin, or "partition debug's DefaultTime"
};

// The limit of the job: --time, else the profile's slurm.time, else the partition's DefaultTime,
// else its MaxTime, from `scontrol show partition -o` (`partitions`; the default partition when
// `partition` is empty). A partition with neither is Error(usage) naming --time and slurm.time;
// a partition not in the list is Error(usage) naming it.
TimeLimit job_time_limit(const JobRequest& request, const ClusterSettings& cluster, const std::string& profile_origin,
                         const std::string& partitions);

// What each docker node decides at run time unless the profile sets it, since the submitting
// host's values say nothing about a node: /dev/shm's size (half the job's memory on the node, else
// half the node's) and the memlock limit (as high as the node's dockerd may grant). The memory limit
// is the job's allocation on the node where Slurm gives one, unless the profile sets one.
struct NodeDecided {
  bool shm_size = true;
  bool memlock = true;
};

// The job, fully decided: the plan (as `up` would run it) and the cluster's part.
struct Job {
  std::string profile;
  plan::Plan plan;
  JobRequest request;
  ClusterSettings cluster;
  PinnedImage image;
  // The absolute path of the job's file of the profile's env values (render::env_file_text), mode
  // 0600, in the job's working directory, which every node shares; the script names it, never a
  // value. Unused when the profile sets no env.
  std::string env_file;
  TimeLimit time;
  NodeDecided node_decided;
  // The user who submits: pyxis and apptainer run the containers as this user (or as root in a
  // user namespace), never as another.
  unsigned submitter_uid = 0;
};

// Where an apptainer job's image is: "<sif_cache>/<digest's hex>.sif", one SIF per image digest.
std::string sif_path(const ClusterSettings& cluster, const PinnedImage& image);

// Where `submit` writes the job's env file: a mkstemps template in `directory` (the job's working
// directory), "XXXXXX" replaced by the file's unique part.
std::string env_file_template(const std::string& directory, const plan::Plan& plan);

// What `submit --dry-run --json` prints: {"dry_run": true, "name", "image", "nodes",
// "gpus_per_node", "processes_per_node", "runtime", "script": the sbatch script as --dry-run prints
// it, "plan": the plan each node runs, as `render --json` shows a plan}.
nlohmann::json dry_run_json(const Job& job, const std::string& script);

// Where a job's output goes unless --output says: the user's state directory (shared with the
// nodes where home is), not the project directory: `<state_home>/launcher/slurm/<job name>-<id>.out`.
std::string job_output_directory(const std::string& state_home);
std::string job_output_pattern(const std::string& state_home);

// The job name Slurm shows ("launcher-" and the env), and the comment by which `launcher jobs`
// tells its jobs apart (the name, where Slurm kept no comment).
inline constexpr const char* job_name_prefix = "launcher-";
std::string job_name(const plan::Plan& plan);
inline constexpr const char* job_comment_prefix = "launcher-image=";
// The comment: the prefix, the image nodes run (repo@digest or image ID), then ",tag=" and the
// image as the profile names it.
std::string job_comment(const PinnedImage& image);

// Rendezvous ports are drawn at random per job in the script (rendezvous_block), below Linux's
// default ephemeral range (32768-60999), where torchrun's own workers' store takes its port.
inline constexpr int rendezvous_port_first = 20000;
inline constexpr int rendezvous_port_count = 12768;

// How long the batch script waits, after a node's part of the job failed, for srun to end the step
// by itself before it ends the job (srun never returns while a node's step daemon is dead).
inline constexpr int step_end_grace_seconds = 15;

// Environment defaults for NCCL and OpenMP written into every job; the profile's env overrides each.
const std::vector<std::pair<std::string, std::string>>& job_environment_defaults();

} // namespace launcher::slurm
