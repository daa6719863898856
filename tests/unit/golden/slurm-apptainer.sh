#!/bin/bash
#SBATCH --job-name=launcher-project-shell
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --time=01:00:00
#SBATCH --mem=58982M
#SBATCH --comment=launcher-image=sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad,tag=pytorch-cpu:1.13.0a0-debian12
# Time limit: 01:00:00, from partition debug's DefaultTime.
# Rendered by `launcher submit` from profile "shell" (Slurm runtime: apptainer).
# Every node runs torchrun once, in image sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad;
# the nodes meet at the first one.
set -euo pipefail

# The image as a SIF, built from its digest by `launcher submit` on storage every node shares.
export sif=/shared/sif/7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad.sif
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

# The containers' environment (--cleanenv passes none of the node's): APPTAINERENV_NAME is NAME inside;
# the defaults set here, the profile's env read from the job's env file by the shell itself.
export APPTAINERENV_NCCL_ASYNC_ERROR_HANDLING=1
export APPTAINERENV_OMP_NUM_THREADS=1
export APPTAINERENV_TORCH_NCCL_ASYNC_ERROR_HANDLING=1
while IFS= read -r line; do export "APPTAINERENV_${line%%=*}=${line#*=}"; done <"$LAUNCHER_ENV_FILE"

# One Slurm task per node: run the container until it ends or Slurm signals the task.
run_on_node() {
  local node=$SLURMD_NODENAME
  if [[ ! -r $sif ]]; then
    echo "launcher: node $node: cannot read $sif, the job's image; the profile's slurm.sif_cache must be " \
      "on storage every node shares" >&2
    return 1
  fi
  # What torchrun's words name inside, which --cleanenv would leave outside.
  export APPTAINERENV_SLURM_NODEID=$SLURM_NODEID APPTAINERENV_SLURM_JOB_ID=$SLURM_JOB_ID
  export APPTAINERENV_LAUNCHER_RENDEZVOUS=$LAUNCHER_RENDEZVOUS
  # This node's InfiniBand devices, if it has any: NCCL uses them only when the container has them.
  local infiniband=() device
  for device in /dev/infiniband/uverbs* /dev/infiniband/rdma_cm; do
    if [[ -e $device ]]; then infiniband+=("$device"); fi
  done
  # --containall's /dev is a minimal one: the InfiniBand devices are bound into it.
  local devices=()
  for device in "${infiniband[@]}"; do devices+=(--bind "$device"); done
  # This task's parent is Slurm's step daemon on this node. If it dies, Slurm no longer sees the task:
  # the task then removes its container and ends the job itself.
  { tail --pid="$PPID" -f /dev/null >/dev/null
    end_job "Slurm's step daemon on this node is gone"
    kill -TERM $$; } &
  watcher=$!
  trap 'leave_node $?' EXIT
  trap 'exit 143' TERM INT
  apptainer exec --containall --cleanenv --writable-tmpfs --bind /home/alice/project:/workspace --bind '/data/my sets/o'\''brien:/data:ro' --pwd /workspace "${devices[@]}" \
    "$sif" bash -c 'ulimit -S -l "$(ulimit -H -l)"; exec python3 -m torch.distributed.run --nnodes=2 --nproc_per_node=2 --max_restarts=0 --node_rank="$SLURM_NODEID" --rdzv_backend=c10d --rdzv_endpoint="$LAUNCHER_RENDEZVOUS" --rdzv_id="$SLURM_JOB_ID" --rdzv_conf=is_host="$((SLURM_NODEID == 0))" "$@"' torchrun \
    train.py --note 'it'\''s a #test; $HOME' &
  container=$!
  wait $!
}
# When the node's part ends: the container goes, and a part that failed by itself (not by Slurm's
# signal, 143) ends the job on every node.
leave_node() {
  kill "$watcher" 2>/dev/null || true
  if [[ -n ${container:-} ]]; then kill -TERM "$container" 2>/dev/null || true; fi
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
  scancel --signal=TERM "$SLURM_JOB_ID.0" 2>/dev/null || true
  for _ in $(seq 15); do kill -0 "$step" 2>/dev/null || break; sleep 1; done
  kill -KILL "$step" 2>/dev/null || true
  echo "launcher: a node's part of job $SLURM_JOB_ID failed; the job ends on every node" >&2
  exit 1
fi
exit "$status"
