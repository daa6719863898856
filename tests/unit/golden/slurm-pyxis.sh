#!/bin/bash
#SBATCH --job-name=launcher-project-shell
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --time=01:00:00
#SBATCH --mem=58982M
#SBATCH --comment=launcher-image=registry.example.com:5000/team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,tag=registry.example.com:5000/team/pytorch:2.7.1
# Time limit: 01:00:00, from partition debug's DefaultTime.
# Rendered by `launcher submit` from profile "shell" (Slurm runtime: pyxis).
# Every node runs torchrun once, in image registry.example.com:5000/team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
# the nodes meet at the first one.
set -euo pipefail

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

# The containers' environment, handed over by name with --container-env: the defaults set here,
# the profile's env read from the job's env file by the shell itself (no command line holds a value).
export NCCL_ASYNC_ERROR_HANDLING=1
export OMP_NUM_THREADS=1
export TORCH_NCCL_ASYNC_ERROR_HANDLING=1
while IFS= read -r line; do export "${line%%=*}=${line#*=}"; done <"$LAUNCHER_ENV_FILE"
# InfiniBand: enroot shares the node's /dev, or, where the site restricts it, its hook mounts the
# node's devices and verbs libraries for this variable (the hook reads it from srun's environment).
export MELLANOX_VISIBLE_DEVICES=all

srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 \
  '--container-image=registry.example.com:5000#team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' \
  '--container-mounts=/home/alice/project:/workspace,/data/my sets/o'\''brien:/data:ro' \
  --container-workdir=/workspace \
  --no-container-mount-home \
  --container-env=NCCL_ASYNC_ERROR_HANDLING,NCCL_DEBUG,OMP_NUM_THREADS,TORCH_NCCL_ASYNC_ERROR_HANDLING,LAUNCHER_RENDEZVOUS \
  bash -c 'ulimit -S -l "$(ulimit -H -l)"; exec python3 -m torch.distributed.run --nnodes=2 --nproc_per_node=2 --max_restarts=0 --node_rank="$SLURM_NODEID" --rdzv_backend=c10d --rdzv_endpoint="$LAUNCHER_RENDEZVOUS" --rdzv_id="$SLURM_JOB_ID" --rdzv_conf=is_host="$((SLURM_NODEID == 0))" "$@"' torchrun \
  train.py --note 'it'\''s a #test; $HOME'
