#include "slurm/script.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"
#include "export/export.hpp"
#include "host/gpu_runtime.hpp"
#include "launcher_contract/contract.hpp"
#include "pin/pin.hpp"
#include "render/render.hpp"

namespace launcher::slurm {

namespace {

using render::shell_quote;

std::string join_words(const std::vector<std::string>& words, const std::string& separator) {
  std::string line;
  for (const auto& word : words)
    line += (line.empty() ? "" : separator) + word;
  return line;
}

std::string sbatch_header(const Job& job) {
  const JobRequest& request = job.request;
  std::string text = "#!/bin/bash\n";
  auto directive = [&](const std::string& option, const std::string& value) {
    if (!value.empty()) text += "#SBATCH --" + option + "=" + value + "\n";
  };
  directive("job-name", job_name(job.plan));
  directive("nodes", std::to_string(request.nodes));
  directive("ntasks-per-node", "1");
  if (request.gpus_per_node > 0) directive("gpus-per-node", std::to_string(request.gpus_per_node));
  directive("partition", request.partition);
  directive("time", job.time.value);
  directive("account", request.account);
  // Pyxis and apptainer containers are the job's processes: Slurm's allocation bounds them (the
  // docker runtime's container is dockerd's, bounded with --memory).
  if (job.cluster.runtime != Runtime::docker && job.plan.memory_bytes)
    directive("mem", std::to_string(*job.plan.memory_bytes >> 20) + "M");
  directive("output", request.output);
  directive("comment", job_comment(job.image));
  text += "# Time limit: " + (job.time.value.empty() ? "" : job.time.value + ", from ") + job.time.origin + ".\n";
  text += "# Rendered by `launcher submit` from profile \"" + job.profile +
          "\" (Slurm runtime: " + runtime_name(job.cluster.runtime) + ").\n# Every node runs torchrun once, in image " +
          job.image.run_reference() + ";\n# the nodes meet at the first one.\n";
  text += "set -euo pipefail\n\n";
  return text;
}

// torchrun and its arguments as shell words; the node's rank and the rendezvous are expanded
// where the words are run, on the node. The first node hosts the rendezvous store: said
// explicitly, since torchrun's guess (does the endpoint name this machine?) is true for every
// node when several share one host.
std::string torchrun_words(const Job& job) {
  return "python3 -m torch.distributed.run --nnodes=" + std::to_string(job.request.nodes) +
         " --nproc_per_node=" + std::to_string(processes_per_node(job.request)) +
         " --max_restarts=" + std::to_string(job.cluster.max_restarts) +
         " --node_rank=\"$SLURM_NODEID\" --rdzv_backend=c10d --rdzv_endpoint=\"$LAUNCHER_RENDEZVOUS\""
         " --rdzv_id=\"$SLURM_JOB_ID\" --rdzv_conf=is_host=\"$((SLURM_NODEID == 0))\"";
}

std::string srun_line(const Job& job) {
  return "srun --nodes=" + std::to_string(job.request.nodes) + " --ntasks-per-node=1 --kill-on-bad-exit=1";
}

// The environment a job's containers get: the defaults, then the profile's env over them.
std::map<std::string, std::string> job_environment(const plan::Plan& plan) {
  std::map<std::string, std::string> environment = plan.environment;
  for (const auto& [name, value] : job_environment_defaults())
    environment.emplace(name, value);
  return environment;
}

// The job's env file: named once at the top of the script (never a value in it), removed when the
// batch script ends, whichever way.
std::string env_file_block(const Job& job) {
  if (job.plan.environment.empty()) return "";
  return "# The values of the profile's env are in this file (mode 0600, written by `launcher submit`), never in\n"
         "# this script or on a command line; it goes when the job ends.\n"
         "export LAUNCHER_ENV_FILE=" +
         shell_quote(job.env_file) +
         "\n"
         "trap 'rm -f -- \"$LAUNCHER_ENV_FILE\"' EXIT\n"
         "trap 'exit 143' TERM INT\n\n";
}

// A node that cannot read the job's env file says why instead of starting a container without it.
std::string env_file_check() {
  return "  if [[ ! -r $LAUNCHER_ENV_FILE ]]; then\n"
         "    echo \"launcher: node $node: cannot read $LAUNCHER_ENV_FILE, the job's env file; the job's working \" "
         "\\\n"
         "      \"directory must be on a filesystem every node shares\" >&2\n"
         "    return 1\n"
         "  fi\n";
}

// `docker run`'s options from the plan, as `up` renders them, less what a node decides itself
// (name, network, GPUs, the env's labels) and what a batch job has no use for (ports, restarts).
// The defaults the profile's env leaves are options; its own values come from the job's env file.
std::vector<std::vector<std::string>> node_run_options(const Job& job) {
  plan::Plan plan = job.plan;
  plan.environment = job_environment(plan);
  render::ContainerCommand rendered = render::render_container_command(plan, "");
  // --add-host conflicts with the host network the node runs it on (where the host is localhost).
  static const std::vector<std::string> decided_on_node{"--name",    "--network", "--add-host",
                                                        "--publish", "--restart", "--gpus"};
  std::vector<std::vector<std::string>> options;
  for (const auto& option : rendered.options) {
    const std::string& name = option.front();
    const std::string value = option.size() > 1 ? option[1] : "";
    if (std::find(decided_on_node.begin(), decided_on_node.end(), name) != decided_on_node.end()) continue;
    if (name == "--label" && starts_with(value, contract::label::prefix) &&
        !starts_with(value, contract::label::profile))
      continue;
    if (name == "--env" && value == "NVIDIA_VISIBLE_DEVICES=void" && job.request.gpus_per_node > 0) continue;
    // GPUs through CDI are the submitting host's setting: the node decides its own, as for --gpus.
    if (name == "--device" && starts_with(value, std::string(host::nvidia_cdi_kind) + "=")) continue;
    if (name == "--shm-size" && job.node_decided.shm_size) continue;
    if (name == "--ulimit" && starts_with(value, "memlock=") && job.node_decided.memlock) continue;
    if (name == "--env-file") {
      for (const auto& [variable, default_value] : plan.environment)
        if (!job.plan.environment.count(variable)) options.push_back({"--env", variable + "=" + default_value});
      continue;
    }
    options.push_back(option);
  }
  return options;
}

// The node's image check: the digest the job was submitted with, or a refusal naming both.
std::string image_check(const Job& job) {
  const PinnedImage& image = job.image;
  if (image.kind == PinnedImage::Kind::image_id)
    return "  # The image was built without a registry: its image ID is the digest every node must have.\n"
           "  local found\n"
           "  found=$(docker image inspect --format '{{.Id}}' \"$image\" 2>/dev/null) || found=\"no image\"\n"
           "  if [[ $found != \"$digest\" ]]; then\n"
           "    echo \"launcher: node $node: image $image is $found here, but the job was submitted with $digest;\" "
           "\\\n"
           "      \"nothing was started on this node\" >&2\n"
           "    return 1\n"
           "  fi\n";
  std::string missing =
      job.cluster.pull
          ? "    docker pull --quiet \"$run_reference\" >/dev/null || return 1\n"
          : "    local found\n"
            "    found=$(docker image inspect --format '{{join .RepoDigests \" \"}}' \"$image\" 2>/dev/null) || "
            "found=\"no image\"\n"
            "    echo \"launcher: node $node: image $image is ${found:-an image with no registry digest} here, but the "
            "job was submitted with\" \\\n"
            "      \"$digest; nothing was started on this node (the profile's slurm.pull lets nodes pull it)\" >&2\n"
            "    return 1\n";
  return "  if ! docker image inspect \"$run_reference\" >/dev/null 2>&1; then\n" + missing + "  fi\n";
}

// A node's task ends the whole job: it signals the batch script (watched_step), which srun does
// not need to hear of. Writing may fail where the step daemon is gone; the signal is what counts.
std::string node_end_job_function() {
  return "end_job() {\n"
         "  trap '' PIPE\n"
         "  scancel --batch --signal=USR1 \"$SLURM_JOB_ID\" 2>/dev/null || true\n"
         "  echo \"launcher: node $SLURMD_NODENAME: $1; ending job $SLURM_JOB_ID\" >&2 || true\n"
         "}\n";
}

// A node's task watches its parent, Slurm's step daemon on the node: a task whose slurmstepd is
// killed keeps running, unseen by Slurm, and srun waits for it forever. The watcher then runs
// `removal` (docker: the container is dockerd's, not the task's), ends the job and TERMs the task,
// whose EXIT trap (leave_node_function) removes what is left. tail's output is not the task's: a
// tail following into the dead step daemon's pipe dies of SIGPIPE.
std::string step_daemon_watch(const std::string& removal) {
  return "  # This task's parent is Slurm's step daemon on this node. If it dies, Slurm no longer sees the task:\n"
         "  # the task then removes its container and ends the job itself.\n"
         "  { tail --pid=\"$PPID\" -f /dev/null >/dev/null\n" +
         removal +
         "    end_job \"Slurm's step daemon on this node is gone\"\n"
         "    kill -TERM $$; } &\n"
         "  watcher=$!\n"
         "  trap 'leave_node $?' EXIT\n"
         "  trap 'exit 143' TERM INT\n";
}

// leave_node, the node task's EXIT trap: the watcher and the container go (`removal`), and a part
// that failed by itself (not by Slurm's signal, 143) ends the job on every node.
std::string leave_node_function(const std::string& removal) {
  return "# When the node's part ends: the container goes, and a part that failed by itself (not by Slurm's\n"
         "# signal, 143) ends the job on every node.\n"
         "leave_node() {\n"
         "  kill \"$watcher\" 2>/dev/null || true\n" +
         removal +
         "  if [[ $1 -ne 0 && $1 -ne 143 ]]; then end_job \"torchrun exited $1\"; fi\n"
         "}\n";
}

std::string docker_script(const Job& job) {
  const plan::Plan& plan = job.plan;
  std::string text = sbatch_header(job);
  text += "# The image as the profile names it, the digest every node must hold, and what `docker run` gets.\n";
  text += "export image=" + shell_quote(job.image.name) + "\n";
  text += "export digest=" + shell_quote(job.image.digest) + "\n";
  text += "export run_reference=" + shell_quote(job.image.run_reference()) + "\n";
  // First: from here on, whatever ends the script (a failed step, a signal) removes the env file.
  text += env_file_block(job);
  text += rendezvous_block();
  text += "# Each node's name with the address Slurm reaches it at (IPv4 ones; others resolve as they are).\n"
          "LAUNCHER_NODE_ADDRESSES=$(scontrol show node -o \"$SLURM_JOB_NODELIST\" |\n"
          "  sed -n 's/^NodeName=\\([^ ]*\\) .* NodeAddr=\\([0-9.]*\\) .*/\\1:\\2/p')\n"
          "export LAUNCHER_NODE_ADDRESSES\n\n";

  text += "# Every node checks its image before any node starts one: a node that differs stops the job here.\n";
  text += "check_image_on_node() {\n";
  text += "  local node=$SLURMD_NODENAME\n";
  text += image_check(job);
  text += "}\n";
  text += "export -f check_image_on_node\n";
  text += srun_line(job) + " bash -c 'set -euo pipefail; check_image_on_node'\n\n";
  text += "# One Slurm task per node: run the container until it ends or Slurm signals the task (scancel,\n"
          "# the time limit), and remove it either way.\n";
  text += "run_on_node() {\n";
  // Not local: the EXIT trap runs after the function has returned.
  text += "  node=$SLURMD_NODENAME\n";
  // Job ids repeat across clusters (and restarted ones): the cluster's name keeps containers apart.
  text += "  container=launcher-slurm-$SLURM_CLUSTER_NAME-$SLURM_JOB_ID-$node\n";
  std::string gpus;
  if (job.request.gpus_per_node > 0) {
    text += "  local gpus=${SLURM_STEP_GPUS:-${SLURM_JOB_GPUS:-}}\n"
            "  if [[ -z $gpus ]]; then\n"
            "    echo \"launcher: node $node: Slurm allocated no GPUs here; the job asked for " +
            std::to_string(job.request.gpus_per_node) +
            " per node\" >&2\n"
            "    return 1\n"
            "  fi\n";
    // Only the allocation's GPUs, never all; the inner double quotes keep "device=0,1" one request.
    gpus = " \\\n    --gpus \"\\\"device=$gpus\\\"\"";
  }
  if (!plan.create_directories.empty()) text += "  mkdir -p " + render::shell_words(plan.create_directories) + "\n";
  text += node_values_block(job);
  text += "  for device in \"${infiniband[@]}\"; do node_options+=(--device \"$device\"); done\n";
  if (!plan.environment.empty()) text += env_file_check();
  text += "  local hosts=()\n"
          "  for entry in $LAUNCHER_NODE_ADDRESSES; do hosts+=(--add-host \"$entry\"); done\n";
  text += step_daemon_watch("    docker rm --force \"$container\" >/dev/null 2>&1 || true\n");
  text += "  docker run --rm --name \"$container\" --label \"" + std::string(label_cluster) +
          "=$SLURM_CLUSTER_NAME\" --label \"" + label_job + "=$SLURM_JOB_ID\" \\\n    --label \"" + label_node +
          "=$node\"     --network host --hostname \"$node\" \"${hosts[@]}\" \"${node_options[@]}\"" + gpus;
  for (const auto& option : node_run_options(job))
    text += " \\\n    " + render::shell_words(option);
  if (!plan.environment.empty()) text += " \\\n    --env-file \"$LAUNCHER_ENV_FILE\"";
  text +=
      " \\\n    \"$run_reference\" " + torchrun_words(job) + " \\\n    " + render::shell_words(plan.command) + " &\n";
  // --hostname: torchrun's rendezvous tells agents apart by host name and process id, and every
  // agent is process 7 or so in its container: nodes that share a host need names of their own,
  // which the workers then reach each other by (--add-host, from Slurm's node addresses).
  // Waiting in the shell, not in docker run, lets the TERM trap act at once.
  text += "  wait $!\n";
  text += "}\n";
  text += leave_node_function("  docker rm --force \"$container\" >/dev/null 2>&1 || true\n");
  text += node_end_job_function();
  text += "export -f run_on_node leave_node end_job\n\n";
  // Step 0 checked the image; this is step 1.
  text += watched_step(srun_line(job) + " bash -c 'set -euo pipefail; run_on_node'", 1);
  return text;
}

// A mount as pyxis's --container-mounts and apptainer's --bind take it, "SOURCE:TARGET[:ro]" in a
// list split at ','; `option` names the option in the message for a path that cannot be said so.
std::string bind_spec(const plan::Mount& mount, const std::string& option) {
  for (const auto& path : {mount.source, mount.target})
    if (path.find_first_of(",:") != std::string::npos)
      throw Error(ExitCode::usage,
                  "mount " + quote_for_message(path) + ": " + option + " cannot express a path with ',' or ':'");
  return mount.source + ":" + mount.target + (mount.read_only ? ":ro" : "");
}

// The words that start torchrun in the container of pyxis or apptainer, the command's words
// following as "$@": the soft memlock limit is raised to the hard one first, unless the profile
// set it (NCCL over InfiniBand pins its buffers; the limits are the node's, as Slurm hands them on).
std::string container_torchrun(const Job& job) {
  std::string raise = job.node_decided.memlock ? "ulimit -S -l \"$(ulimit -H -l)\"; " : "";
  return "bash -c " + shell_quote(raise + "exec " + torchrun_words(job) + " \"$@\"") + " torchrun";
}

// The batch script's lines that read the profile's env from the job's env file into the shell,
// each as `prefix` + its name, since no command line may hold a value.
std::string environment_from_file(const std::string& prefix) {
  return "while IFS= read -r line; do export \"" + prefix + "${line%%=*}=${line#*=}\"; done <\"$LAUNCHER_ENV_FILE\"\n";
}

// pyxis's image syntax: "[REGISTRY#]IMAGE", the registry split off by '#' instead of '/'.
std::string pyxis_image(const PinnedImage& image) {
  if (image.kind != PinnedImage::Kind::repo_digest)
    throw Error(ExitCode::usage, "image " + image.name + " has no registry digest (its ID here is " + image.digest +
                                     "); pyxis nodes import images from a registry by digest: push it and pin it "
                                     "with `launcher pin`");
  std::string reference = image.run_reference();
  auto slash = reference.find('/');
  if (slash == std::string::npos) return reference;
  std::string first = reference.substr(0, slash);
  bool is_registry = first.find_first_of(".:") != std::string::npos || first == "localhost";
  return is_registry ? first + "#" + reference.substr(slash + 1) : reference;
}

std::string pyxis_script(const Job& job) {
  const plan::Plan& plan = job.plan;
  std::string text = sbatch_header(job);
  // First: from here on, whatever ends the script (a failed step, a signal) removes the env file.
  text += env_file_block(job);
  text += rendezvous_block();
  text += "# The containers' environment, handed over by name with --container-env: the defaults set here,\n"
          "# the profile's env read from the job's env file by the shell itself (no command line holds a value).\n";
  std::vector<std::string> names;
  for (const auto& [name, value] : job_environment(plan)) {
    if (!plan.environment.count(name)) text += "export " + name + "=" + shell_quote(value) + "\n";
    names.push_back(name);
  }
  if (!plan.environment.empty()) text += environment_from_file("");
  names.push_back("LAUNCHER_RENDEZVOUS");
  text += "# InfiniBand: enroot shares the node's /dev, or, where the site restricts it, its hook mounts the\n"
          "# node's devices and verbs libraries for this variable (the hook reads it from srun's environment).\n"
          "export MELLANOX_VISIBLE_DEVICES=all\n\n";
  std::vector<std::string> mounts;
  for (const auto& mount : plan.mounts)
    mounts.push_back(bind_spec(mount, "pyxis's --container-mounts"));
  // The batch node makes the volumes' missing directories: every node sees them on shared storage.
  if (!plan.create_directories.empty()) text += "mkdir -p " + render::shell_words(plan.create_directories) + "\n";
  text += srun_line(job) + " \\\n";
  text += "  " + shell_quote("--container-image=" + pyxis_image(job.image)) + " \\\n";
  if (plan.read_only_root) text += "  --container-readonly \\\n";
  // Pyxis runs the container as the submitting user; root inside is its user namespace's.
  if (plan.user.uid == 0) text += "  --container-remap-root \\\n";
  if (!mounts.empty()) text += "  " + shell_quote("--container-mounts=" + join_words(mounts, ",")) + " \\\n";
  if (!plan.workdir.empty()) text += "  " + shell_quote("--container-workdir=" + plan.workdir) + " \\\n";
  text += "  --no-container-mount-home \\\n";
  text += "  " + shell_quote("--container-env=" + join_words(names, ",")) + " \\\n";
  text += "  " + container_torchrun(job) + " \\\n";
  text += "  " + render::shell_words(plan.command) + "\n";
  return text;
}

// apptainer: the SIF built from the image (build_sif, on the submitting host) on storage every node
// shares; --containall gives the container its own /dev, /tmp, PID and IPC namespaces and only the
// environment handed over (APPTAINERENV_*). Its processes are the task's, within the job's cgroup.
std::string apptainer_script(const Job& job) {
  const plan::Plan& plan = job.plan;
  std::string text = sbatch_header(job);
  text += "# The image as a SIF, built from its digest by `launcher submit` on storage every node shares.\n";
  text += "export sif=" + shell_quote(sif_path(job.cluster, job.image)) + "\n";
  // First: from here on, whatever ends the script (a failed step, a signal) removes the env file.
  text += env_file_block(job);
  text += rendezvous_block();
  text += "# The containers' environment (--cleanenv passes none of the node's): APPTAINERENV_NAME is NAME inside;\n"
          "# the defaults set here, the profile's env read from the job's env file by the shell itself.\n";
  for (const auto& [name, value] : job_environment(plan))
    if (!plan.environment.count(name)) text += "export APPTAINERENV_" + name + "=" + shell_quote(value) + "\n";
  if (!plan.environment.empty()) text += environment_from_file("APPTAINERENV_");
  text += "\n";
  std::vector<std::string> options{"--containall", "--cleanenv"};
  // --nv binds the node's NVIDIA driver and devices; Slurm's cgroup leaves the allocated GPUs.
  if (job.request.gpus_per_node > 0) options.push_back("--nv");
  // Root inside is the submitting user in a user namespace; an image's root filesystem is read-only
  // unless a writable overlay is asked for (as a docker container's is writable unless read_only).
  if (plan.user.uid == 0) options.push_back("--fakeroot");
  if (!plan.read_only_root) options.push_back("--writable-tmpfs");
  for (const auto& mount : plan.mounts)
    options.insert(options.end(), {"--bind", bind_spec(mount, "apptainer's --bind")});
  if (!plan.workdir.empty()) options.insert(options.end(), {"--pwd", plan.workdir});
  // The batch node makes the volumes' missing directories: every node sees them on shared storage.
  if (!plan.create_directories.empty()) text += "mkdir -p " + render::shell_words(plan.create_directories) + "\n";
  text += "# One Slurm task per node: run the container until it ends or Slurm signals the task.\n";
  text += "run_on_node() {\n";
  text += "  local node=$SLURMD_NODENAME\n";
  text +=
      "  if [[ ! -r $sif ]]; then\n"
      "    echo \"launcher: node $node: cannot read $sif, the job's image; the profile's slurm.sif_cache must be \" "
      "\\\n"
      "      \"on storage every node shares\" >&2\n"
      "    return 1\n"
      "  fi\n";
  text += "  # What torchrun's words name inside, which --cleanenv would leave outside.\n"
          "  export APPTAINERENV_SLURM_NODEID=$SLURM_NODEID APPTAINERENV_SLURM_JOB_ID=$SLURM_JOB_ID\n"
          "  export APPTAINERENV_LAUNCHER_RENDEZVOUS=$LAUNCHER_RENDEZVOUS\n";
  if (job.request.gpus_per_node > 0)
    text +=
        "  # Slurm's choice of this node's GPUs, which --cleanenv would leave outside.\n"
        "  if [[ -n ${CUDA_VISIBLE_DEVICES:-} ]]; then export APPTAINERENV_CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; "
        "fi\n";
  text += infiniband_block(infiniband_directory);
  text += "  # --containall's /dev is a minimal one: the InfiniBand devices are bound into it.\n"
          "  local devices=()\n"
          "  for device in \"${infiniband[@]}\"; do devices+=(--bind \"$device\"); done\n";
  text += step_daemon_watch("");
  text += "  apptainer exec " + render::shell_words(options) + " \"${devices[@]}\" \\\n    \"$sif\" " +
          container_torchrun(job) + " \\\n    " + render::shell_words(plan.command) + " &\n";
  text += "  container=$!\n";
  // Waiting in the shell lets the TERM trap act at once.
  text += "  wait $!\n";
  text += "}\n";
  text += leave_node_function("  if [[ -n ${container:-} ]]; then kill -TERM \"$container\" 2>/dev/null || true; fi\n");
  text += node_end_job_function();
  text += "export -f run_on_node leave_node end_job\n\n";
  text += watched_step(srun_line(job) + " bash -c 'set -euo pipefail; run_on_node'", 0);
  return text;
}

// The plan fields every runtime expresses, since the job decides them itself: its name, profile and
// image (pinned), torchrun's command, the GPUs of Slurm's allocation (and how they reach the
// container), each node's network, Slurm's own restarts; published ports are refused before
// (batch_layer).
const std::vector<std::string> job_fields{"/env",  "/profile", "/image",   "/service", "/command",
                                          "/gpus", "/ports",   "/restart", "/network", "/gpu_runtime"};

// What pyxis and apptainer map: the mounts (binds), volumes to create (mkdir -p on shared storage),
// the env by name, the workdir, the memory limit (#SBATCH --mem), the read-only root, and the user
// as the submitter or root in a user namespace (unexpressed_fields checks which).
const std::vector<std::string> user_namespace_fields{"/mounts",   "/create_directories", "/environment",
                                                     "/workdir",  "/resources/memory",   "/read_only_root",
                                                     "/user/uid", "/user/gid",           "/user/name"};

struct RuntimeRow {
  Runtime runtime;
  const char* name;
  std::string (*write_script)(const Job&);
  std::vector<std::string> fields; // the plan fields it maps, beyond job_fields
  bool runs_as_submitter;          // containers run as the submitter (or root in a user namespace)
};

const std::vector<RuntimeRow>& runtime_table() {
  static const std::vector<RuntimeRow> table{
      // docker run, as `up` renders it: every field.
      {Runtime::docker, "docker", docker_script, exporting::rendered_fields(), false},
      {Runtime::pyxis, "pyxis", pyxis_script, user_namespace_fields, true},
      {Runtime::apptainer, "apptainer", apptainer_script, user_namespace_fields, true},
  };
  return table;
}

const RuntimeRow& row_of(Runtime runtime) {
  for (const auto& row : runtime_table())
    if (row.runtime == runtime) return row;
  throw Error(ExitCode::failed, "internal error: a Slurm runtime without a row in the table");
}

} // namespace

std::string runtime_name(Runtime runtime) { return row_of(runtime).name; }

Runtime runtime_named(const std::string& name) {
  std::string names;
  for (const auto& row : runtime_table()) {
    if (name == row.name) return row.runtime;
    names += (names.empty() ? "" : ", ") + std::string(row.name);
  }
  throw Error(ExitCode::usage, "Slurm runtime " + quote_for_message(name) + ": expected one of " + names);
}

std::vector<std::string> unexpressed_fields(const Job& job) {
  const RuntimeRow& row = row_of(job.cluster.runtime);
  nlohmann::json plan = plan::to_json(job.plan);
  nlohmann::json& labels = plan["labels"];
  for (auto label = labels.begin(); label != labels.end();)
    label = starts_with(label.key(), contract::label::prefix) ? labels.erase(label) : std::next(label);
  if (job.plan.cpu_shares == plan::Plan{}.cpu_shares) plan["resources"].erase("cpu_shares");
  if (job.node_decided.shm_size) plan.erase("shm_size");
  if (job.node_decided.memlock) plan["ulimits"].erase("memlock");
  std::vector<std::string> expressed = job_fields;
  expressed.insert(expressed.end(), row.fields.begin(), row.fields.end());
  // Named member by member: a label, a limit, a kind of access, as the profile sets each.
  static const std::vector<std::string> by_member{
      "/access", "/access/ssh_forwarding", "/labels", "/resources", "/ulimits", "/user"};
  std::vector<std::string> dropped = exporting::unexpressed_fields(plan, expressed, by_member);
  if (row.runs_as_submitter && job.plan.user.uid != 0 && job.plan.user.uid != job.submitter_uid)
    dropped.push_back("/user/uid");
  std::sort(dropped.begin(), dropped.end());
  return dropped;
}

std::string unenforced_defaults_notice(const std::vector<std::string>& fields, Runtime runtime) {
  std::string notice;
  for (const auto& field : fields)
    notice += "launcher: note: Slurm runtime " + runtime_name(runtime) + " does not enforce the launcher's default \"" +
              field.substr(1) + "\" (a profile that sets it is refused unless --lossy)\n";
  return notice;
}

std::string render_script(const Job& job) { return row_of(job.cluster.runtime).write_script(job); }

// The tasks are TERMed through Slurm (scancel of the step), which every live node's step daemon
// delivers, and srun is killed with SIGKILL: a TERM makes srun send SIGKILL to every task, and a
// job that ends while a node's step daemon is dead SIGKILLs the others' tasks at once; either way
// their containers would be left.
std::string watched_step(const std::string& srun_command, int step) {
  return "# A node whose part fails signals this script (USR1): the step's tasks are TERMed, srun gets " +
         std::to_string(step_end_grace_seconds) +
         " s to end, then the job ends.\n"
         "node_failed=\n"
         "trap 'node_failed=1' USR1\n" +
         srun_command +
         " &\n"
         "step=$!\n"
         "status=0\n"
         "wait \"$step\" || status=$?\n"
         "if [[ -n $node_failed ]]; then\n"
         "  scancel --signal=TERM \"$SLURM_JOB_ID." +
         std::to_string(step) +
         "\" 2>/dev/null || true\n"
         "  for _ in $(seq " +
         std::to_string(step_end_grace_seconds) +
         "); do kill -0 \"$step\" 2>/dev/null || break; sleep 1; done\n"
         "  kill -KILL \"$step\" 2>/dev/null || true\n"
         "  echo \"launcher: a node's part of job $SLURM_JOB_ID failed; the job ends on every node\" >&2\n"
         "  exit 1\n"
         "fi\n"
         "exit \"$status\"\n";
}

std::string node_values_block(const Job& job) {
  std::string text = infiniband_block(infiniband_directory);
  text +=
      "  # This node's values, not the submitting host's: the container gets the job's CPUs and memory here.\n"
      "  local node_options=(--cpuset-cpus \"$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)\")\n"
      "  local memory_mb=${SLURM_MEM_PER_NODE:-}\n"
      "  if [[ -z $memory_mb && -n ${SLURM_MEM_PER_CPU:-} ]]; then memory_mb=$((SLURM_MEM_PER_CPU * "
      "SLURM_CPUS_ON_NODE)); fi\n";
  if (!job.plan.memory_bytes)
    text += "  [[ -z $memory_mb ]] || node_options+=(--memory \"${memory_mb}m\" --memory-swap \"${memory_mb}m\")\n";
  if (job.node_decided.shm_size)
    text += "  local node_memory_mb=$(($(sed -n 's/^MemTotal:[[:space:]]*\\([0-9]*\\) kB$/\\1/p' /proc/meminfo) / "
            "1024))\n"
            "  node_options+=(--shm-size \"$((${memory_mb:-$node_memory_mb} / 2))m\")\n";
  if (job.node_decided.memlock)
    text +=
        "  # As much locked memory as this node's dockerd may grant (its hard limit), unlimited where it may\n"
        "  # and on an InfiniBand node (NCCL pins its buffers for the adapter).\n"
        "  local memlock\n"
        "  memlock=$(sed -n 's/^Max locked memory *[^ ]* *\\([^ ]*\\) .*/\\1/p' \"/proc/$(pidof -s dockerd)/limits\" "
        "2>/dev/null) || true\n"
        "  [[ $memlock =~ ^[0-9]+$ && ${#infiniband[@]} -eq 0 ]] || memlock=-1\n"
        "  node_options+=(--ulimit \"memlock=$memlock:$memlock\")\n";
  return text;
}

std::string infiniband_block(const std::string& directory) {
  const std::string quoted = shell_quote(directory);
  return "  # This node's InfiniBand devices, if it has any: NCCL uses them only when the container has them.\n"
         "  local infiniband=() device\n"
         "  for device in " +
         quoted + "/uverbs* " + quoted +
         "/rdma_cm; do\n"
         "    if [[ -e $device ]]; then infiniband+=(\"$device\"); fi\n"
         "  done\n";
}

// The port is drawn here, in the batch step, from the kernel's random source, not derived from
// the job id: another user cannot know it before the job starts, so cannot listen there first and
// be the store the other nodes connect to. A port that answers on the first node is drawn again.
// `sed -n 1p`, not `head`, reads all of scontrol's list: scontrol writing on into a pipe head has
// closed dies of SIGPIPE, and pipefail ends the script.
std::string rendezvous_block() {
  const std::string first = std::to_string(rendezvous_port_first);
  const std::string count = std::to_string(rendezvous_port_count);
  return "# torchrun's c10d rendezvous: the first node of the job, at the address Slurm reaches it by, on a\n"
         "# port drawn at random for this job; srun hands it to every node in the environment.\n"
         "first_node=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | sed -n 1p)\n"
         "first_address=$(scontrol show node -o \"$first_node\" | sed -n 's/.* NodeAddr=\\([^ ]*\\).*/\\1/p')\n"
         "first_address=${first_address:-$first_node}\n"
         "rendezvous_port=\n"
         "for _ in $(seq 100); do\n"
         "  port=$((" +
         first + " + $(od -An -N4 -tu4 /dev/urandom) % " + count +
         "))\n"
         "  if ! timeout 2 bash -c ': </dev/tcp/$0/$1' \"$first_address\" \"$port\" 2>/dev/null; then\n"
         "    rendezvous_port=$port\n"
         "    break\n"
         "  fi\n"
         "done\n"
         "if [[ -z $rendezvous_port ]]; then\n"
         "  echo \"launcher: 100 random ports on $first_address were all in use; no rendezvous port for torchrun\" "
         ">&2\n"
         "  exit 1\n"
         "fi\n"
         "export LAUNCHER_RENDEZVOUS=\"$first_address:$rendezvous_port\"\n\n";
}

} // namespace launcher::slurm
