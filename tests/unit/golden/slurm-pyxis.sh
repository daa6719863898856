#!/bin/bash
#SBATCH --job-name=launcher-project-shell
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --comment=launcher-image=registry.example.com:5000/team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
# Rendered by `launcher submit` from profile "shell" (Slurm runtime: pyxis).
# Every node runs torchrun once, in image registry.example.com:5000/team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
# the nodes meet at the first one.
set -euo pipefail

# torchrun's c10d rendezvous: the first node of the job, on a port derived from the job id.
first_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
first_address=$(scontrol show node -o "$first_node" | sed -n 's/.* NodeAddr=\([^ ]*\).*/\1/p')
export LAUNCHER_RENDEZVOUS="${first_address:-$first_node}:$((40000 + SLURM_JOB_ID % 10000))"

# The containers' environment (no secrets): set here, handed over by name with --container-env.
export NCCL_ASYNC_ERROR_HANDLING=1
export NCCL_DEBUG=INFO
export OMP_NUM_THREADS=1
export TORCH_NCCL_ASYNC_ERROR_HANDLING=1

srun --nodes=2 --ntasks-per-node=1 --kill-on-bad-exit=1 \
  '--container-image=registry.example.com:5000#team/pytorch@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' \
  '--container-mounts=/home/alice/project:/workspace,/data/my sets/o'\''brien:/data:ro' \
  --container-workdir=/workspace \
  --no-container-mount-home \
  --container-env=NCCL_ASYNC_ERROR_HANDLING,NCCL_DEBUG,OMP_NUM_THREADS,TORCH_NCCL_ASYNC_ERROR_HANDLING,LAUNCHER_RENDEZVOUS \
  bash -c 'exec python3 -m torch.distributed.run --nnodes=2 --nproc_per_node=2 --node_rank="$SLURM_NODEID" --rdzv_backend=c10d --rdzv_endpoint="$LAUNCHER_RENDEZVOUS" --rdzv_id="$SLURM_JOB_ID" --rdzv_conf=is_host="$((SLURM_NODEID == 0))" "$@"' torchrun \
  train.py --note 'it'\''s a #test; $HOME'
