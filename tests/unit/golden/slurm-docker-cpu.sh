#!/bin/bash
#SBATCH --job-name=launcher-project-shell
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --time=01:00:00
#SBATCH --comment=launcher-image=sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad,tag=pytorch-cpu:1.13.0a0-debian12
# Time limit: 01:00:00, from partition debug's DefaultTime.
# Rendered by `launcher submit` from profile "shell" (Slurm runtime: docker).
# Every node runs torchrun once, in image sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad;
# the nodes meet at the first one.
set -euo pipefail

# The image as the profile names it, the digest every node must hold, and what `docker run` gets.
export image=pytorch-cpu:1.13.0a0-debian12
export digest=sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad
export run_reference=sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad
# The values of the profile's env are in this file (mode 0600, written by `launcher submit`), never in
# this script or on a command line; it goes when the job ends.
export LAUNCHER_ENV_FILE=/home/alice/project/.launcher-project-shell-a1B2c3.env
trap 'rm -f -- "$LAUNCHER_ENV_FILE"' EXIT
trap 'exit 143' TERM INT

# torchrun's c10d rendezvous: the first node of the job, at the address Slurm reaches it by, on a
# port drawn at random for this job; srun hands it to every node in the environment.
first_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 1p)
first_address=$(scontrol show node -o "$first_node" | sed -n 's/.* NodeAddr=\([^ ]*\).*/\1/p')
first_address=${first_address:-$first_node}
rendezvous_port=
for _ in $(seq 100); do
  port=$((20000 + $(od -An -N4 -tu4 /dev/urandom) % 12768))
  if ! timeout 2 bash -c ': </dev/tcp/$0/$1' "$first_address" "$port" 2>/dev/null; then
    rendezvous_port=$port
    break
  fi
done
if [[ -z $rendezvous_port ]]; then
  echo "launcher: 100 random ports on $first_address were all in use; no rendezvous port for torchrun" >&2
  exit 1
fi
export LAUNCHER_RENDEZVOUS="$first_address:$rendezvous_port"

# Each node's name with the address Slurm reaches it at (IPv4 ones; others resolve as they are).
LAUNCHER_NODE_ADDRESSES=$(scontrol show node -o "$SLURM_JOB_NODELIST" |
  sed -n 's/^NodeName=\([^ ]*\) .* NodeAddr=\([0-9.]*\) .*/\1:\2/p')
export LAUNCHER_NODE_ADDRESSES

# Every node checks its image before any node starts one: a node that differs stops the job here.
check_image_on_node() {
  local node=$SLURMD_NODENAME
  # The image was built without a registry: its image ID is the digest every node must have.
  local found
  found=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || found="no image"
  if [[ $found != "$digest" ]]; then
    echo "launcher: node $node: image $image is $found here, but the job was submitted with $digest;" \
      "nothing was started on this node" >&2
    return 1
  fi
}
export -f check_image_on_node
srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c 'set -euo pipefail; check_image_on_node'

# One Slurm task per node: run the container until it ends or Slurm signals the task (scancel,
# the time limit), and remove it either way.
run_on_node() {
  node=$SLURMD_NODENAME
  container=launcher-slurm-$SLURM_CLUSTER_NAME-$SLURM_JOB_ID-$node
  # This node's InfiniBand devices, if it has any: NCCL uses them only when the container has them.
  local infiniband=() device
  for device in /dev/infiniband/uverbs* /dev/infiniband/rdma_cm; do
    if [[ -e $device ]]; then infiniband+=("$device"); fi
  done
  # This node's values, not the submitting host's: the container gets the job's CPUs and memory here.
  local node_options=(--cpuset-cpus "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)")
  local memory_mb=${SLURM_MEM_PER_NODE:-}
  if [[ -z $memory_mb && -n ${SLURM_MEM_PER_CPU:-} ]]; then memory_mb=$((SLURM_MEM_PER_CPU * SLURM_CPUS_ON_NODE)); fi
  local node_memory_mb=$(($(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/meminfo) / 1024))
  node_options+=(--shm-size "$((${memory_mb:-$node_memory_mb} / 2))m")
  # As much locked memory as this node's dockerd may grant (its hard limit), unlimited where it may
  # and on an InfiniBand node (NCCL pins its buffers for the adapter).
  local memlock
  memlock=$(sed -n 's/^Max locked memory *[^ ]* *\([^ ]*\) .*/\1/p' "/proc/$(pidof -s dockerd)/limits" 2>/dev/null) || true
  [[ $memlock =~ ^[0-9]+$ && ${#infiniband[@]} -eq 0 ]] || memlock=-1
  node_options+=(--ulimit "memlock=$memlock:$memlock")
  for device in "${infiniband[@]}"; do node_options+=(--device "$device"); done
  if [[ ! -r $LAUNCHER_ENV_FILE ]]; then
    echo "launcher: node $node: cannot read $LAUNCHER_ENV_FILE, the job's env file; the job's working " \
      "directory must be on a filesystem every node shares" >&2
    return 1
  fi
  local hosts=()
  for entry in $LAUNCHER_NODE_ADDRESSES; do hosts+=(--add-host "$entry"); done
  # This task's parent is Slurm's step daemon on this node. If it dies, Slurm no longer sees the task:
  # the task then removes its container and ends the job itself.
  { tail --pid="$PPID" -f /dev/null >/dev/null
    docker rm --force "$container" >/dev/null 2>&1 || true
    end_job "Slurm's step daemon on this node is gone"
    kill -TERM $$; } &
  watcher=$!
  trap 'leave_node $?' EXIT
  trap 'exit 143' TERM INT
  docker run --rm --name "$container" --label "io.launcher.slurm-cluster=$SLURM_CLUSTER_NAME" --label "io.launcher.slurm-job=$SLURM_JOB_ID" \
    --label "io.launcher.slurm-node=$node"     --network host --hostname "$node" "${hosts[@]}" "${node_options[@]}" \
    --pull never \
    --label io.launcher.profile=shell \
    --env NVIDIA_VISIBLE_DEVICES=void \
    --env LAUNCHER_SERVICE=command \
    --env LAUNCHER_UID=1000 \
    --env LAUNCHER_GID=1000 \
    --env LAUNCHER_USER=alice \
    --env LAUNCHER_WORKDIR=/workspace \
    --env NCCL_ASYNC_ERROR_HANDLING=1 \
    --env OMP_NUM_THREADS=1 \
    --env TORCH_NCCL_ASYNC_ERROR_HANDLING=1 \
    --workdir /workspace \
    --mount type=bind,src=/home/alice/project,dst=/workspace \
    --mount 'type=bind,src=/data/my sets/o'\''brien,dst=/data,readonly' \
    --tmpfs /run/launcher:rw,nosuid,nodev,noexec,mode=0755 \
    --cap-drop ALL \
    --cap-add CHOWN \
    --cap-add DAC_OVERRIDE \
    --cap-add FOWNER \
    --cap-add KILL \
    --cap-add SETGID \
    --cap-add SETUID \
    --security-opt no-new-privileges \
    --ulimit stack=67108864:67108864 \
    --memory 58982m \
    --memory-swap 58982m \
    --cpu-shares 1024 \
    --pids-limit 32768 \
    --env-file "$LAUNCHER_ENV_FILE" \
    "$run_reference" python3 -m torch.distributed.run --nnodes=2 --nproc_per_node=2 --max_restarts=0 --node_rank="$SLURM_NODEID" --rdzv_backend=c10d --rdzv_endpoint="$LAUNCHER_RENDEZVOUS" --rdzv_id="$SLURM_JOB_ID" --rdzv_conf=is_host="$((SLURM_NODEID == 0))" \
    train.py --note 'it'\''s a #test; $HOME' &
  wait $!
}
# When the node's part ends: the container goes, and a part that failed by itself (not by Slurm's
# signal, 143) ends the job on every node.
leave_node() {
  kill "$watcher" 2>/dev/null || true
  docker rm --force "$container" >/dev/null 2>&1 || true
  if [[ $1 -ne 0 && $1 -ne 143 ]]; then end_job "torchrun exited $1"; fi
}
end_job() {
  trap '' PIPE
  scancel --batch --signal=USR1 "$SLURM_JOB_ID" 2>/dev/null || true
  echo "launcher: node $SLURMD_NODENAME: $1; ending job $SLURM_JOB_ID" >&2 || true
}
export -f run_on_node leave_node end_job

# A node whose part fails signals this script (USR1): the step's tasks are TERMed, srun gets 15 s to end, then the job ends.
node_failed=
trap 'node_failed=1' USR1
srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c 'set -euo pipefail; run_on_node' &
step=$!
status=0
wait "$step" || status=$?
if [[ -n $node_failed ]]; then
  scancel --signal=TERM "$SLURM_JOB_ID.1" 2>/dev/null || true
  for _ in $(seq 15); do kill -0 "$step" 2>/dev/null || break; sleep 1; done
  kill -KILL "$step" 2>/dev/null || true
  echo "launcher: a node's part of job $SLURM_JOB_ID failed; the job ends on every node" >&2
  exit 1
fi
exit "$status"
