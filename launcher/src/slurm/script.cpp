#include "slurm/script.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"
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

std::string runtime_name(Runtime runtime) { return runtime == Runtime::docker ? "docker" : "pyxis"; }

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
  // Pyxis has no memory limit of its own: Slurm's allocation bounds the container (the docker
  // runtime bounds it with --memory).
  if (job.cluster.runtime == Runtime::pyxis && job.plan.memory_bytes)
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
  render::ContainerCommand rendered = render::render_container_command({"docker", "run"}, plan, "");
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
  if (!plan.environment.empty()) text += env_file_check();
  text += "  local hosts=()\n"
          "  for entry in $LAUNCHER_NODE_ADDRESSES; do hosts+=(--add-host \"$entry\"); done\n";
  // A task whose slurmstepd is killed keeps running, unseen by Slurm, and srun waits for it forever.
  // tail's output is not the task's: a tail following into the dead step daemon's pipe dies of SIGPIPE.
  text += "  # This task's parent is Slurm's step daemon on this node. If it dies, Slurm no longer sees the task:\n"
          "  # the task then removes its container and ends the job itself.\n"
          "  { tail --pid=\"$PPID\" -f /dev/null >/dev/null\n"
          "    docker rm --force \"$container\" >/dev/null 2>&1 || true\n"
          "    end_job \"Slurm's step daemon on this node is gone\"\n"
          "    kill -TERM $$; } &\n"
          "  watcher=$!\n";
  text += "  trap 'leave_node $?' EXIT\n";
  text += "  trap 'exit 143' TERM INT\n";
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
  text += "# When the node's part ends: the container goes, and a part that failed by itself (not by Slurm's\n"
          "# signal, 143) ends the job on every node.\n"
          "leave_node() {\n"
          "  kill \"$watcher\" 2>/dev/null || true\n"
          "  docker rm --force \"$container\" >/dev/null 2>&1 || true\n"
          "  if [[ $1 -ne 0 && $1 -ne 143 ]]; then end_job \"torchrun exited $1\"; fi\n"
          "}\n";
  text += node_end_job_function();
  text += "export -f run_on_node leave_node end_job\n\n";
  // Step 0 checked the image; this is step 1.
  text += watched_step(srun_line(job) + " bash -c 'set -euo pipefail; run_on_node'", 1);
  return text;
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
  if (!plan.environment.empty())
    text += "while IFS= read -r line; do export \"${line%%=*}=${line#*=}\"; done <\"$LAUNCHER_ENV_FILE\"\n";
  names.push_back("LAUNCHER_RENDEZVOUS");
  text += "\n";
  std::vector<std::string> mounts;
  for (const auto& mount : plan.mounts) {
    for (const auto& path : {mount.source, mount.target})
      if (path.find_first_of(",:") != std::string::npos)
        throw Error(ExitCode::usage, "mount " + quote_for_message(path) +
                                         ": pyxis's --container-mounts cannot express a path with ',' or ':'");
    mounts.push_back(mount.source + ":" + mount.target + (mount.read_only ? ":ro" : ""));
  }
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
  text += "  bash -c " + shell_quote("exec " + torchrun_words(job) + " \"$@\"") + " torchrun \\\n";
  text += "  " + render::shell_words(plan.command) + "\n";
  return text;
}

} // namespace

std::string render_script(const Job& job) {
  return job.cluster.runtime == Runtime::docker ? docker_script(job) : pyxis_script(job);
}

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
  std::string text =
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
        "  # As much locked memory as this node's dockerd may grant (its hard limit), unlimited where it may.\n"
        "  local memlock\n"
        "  memlock=$(sed -n 's/^Max locked memory *[^ ]* *\\([^ ]*\\) .*/\\1/p' \"/proc/$(pidof -s dockerd)/limits\" "
        "2>/dev/null) || true\n"
        "  [[ $memlock =~ ^[0-9]+$ ]] || memlock=-1\n"
        "  node_options+=(--ulimit \"memlock=$memlock:$memlock\")\n";
  return text;
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
