#!/usr/bin/env bash
# Time from submit to all ranks running for a 2-node x 2-process CPU job on a real two-node Slurm
# (tests/slurm/cluster.sh): `launcher submit` against the same job written by hand as an sbatch
# script with plain `docker run` (the floor). Printed, not asserted; rounds interleave.
# Usage: tools/bench-slurm.sh LAUNCHER IMAGE [ROUNDS]
set -euo pipefail
launcher=$(realpath "${1:?usage: tools/bench-slurm.sh LAUNCHER IMAGE [ROUNDS]}")
image=${2:?usage: tools/bench-slurm.sh LAUNCHER IMAGE [ROUNDS]}
rounds=${3:-3}
repository=$(cd "$(dirname "$0")/.." && pwd)
state=$(mktemp -d /tmp/bench-slurm.XXXXXX)
work=$(mktemp -d /tmp/bench-slurm-work.XXXXXX)
trap '"$repository/tests/slurm/cluster.sh" stop "$state"; rm -rf "$work"' EXIT
"$repository/tests/slurm/cluster.sh" start "$state"
# shellcheck source=/dev/null
source "$state/env"
cp "$repository/examples/ddp_train.py" "$work/"
cd "$work"
training=(--redirects 9:1 --tee 9:1 ddp_train.py --steps 20)

cat > floor.sbatch <<FLOOR
#!/bin/bash
#SBATCH --job-name=floor --nodes=2 --ntasks-per-node=1
first=\$(scontrol show hostnames "\$SLURM_JOB_NODELIST" | head -n 1)
export RENDEZVOUS=\$(scontrol show node -o "\$first" | sed -n 's/.* NodeAddr=\([^ ]*\).*/\1/p'):\$((40000 + SLURM_JOB_ID % 10000))
export HOSTS=\$(scontrol show node -o "\$SLURM_JOB_NODELIST" | sed -n 's/^NodeName=\([^ ]*\) .* NodeAddr=\([0-9.]*\) .*/--add-host \1:\2/p' | tr '\n' ' ')
srun bash -c 'exec docker run --rm --network host --hostname "\$SLURMD_NODENAME" \$HOSTS --shm-size 1g \
  -v "\$PWD":/workspace -w /workspace --entrypoint python3 $image -m torch.distributed.run \
  --nnodes=2 --nproc_per_node=2 --node_rank="\$SLURM_NODEID" --rdzv_backend=c10d \
  --rdzv_endpoint="\$RENDEZVOUS" --rdzv_id="\$SLURM_JOB_ID" --rdzv_conf=is_host=\$((SLURM_NODEID == 0)) ${training[*]}'
FLOOR

now() { date +%s.%N; }
output_of() { scontrol show job -o "$1" | sed -n 's/.* StdOut=\([^ ]*\).*/\1/p'; }
# Seconds from `start` until the job's output says the 4 ranks met ("world size 4"), then waits it out.
until_running() {
  local job=$1 start=$2 file seconds=""
  for _ in $(seq 1200); do
    file=$(output_of "$job")
    if [[ -n $file && -f $file ]] && grep -q "world size 4" "$file"; then
      seconds=$(echo "$(now) - $start" | bc)
      break
    fi
    sleep 0.05
  done
  while [[ -n $(squeue -h -j "$job" 2>/dev/null) ]]; do sleep 0.2; done
  echo "${seconds:-timeout}"
}

for round in $(seq "$rounds"); do
  start=$(now)
  job=$("$launcher" submit --profile shell --image "$image" --nodes 2 --procs-per-node 2 -- "${training[@]}")
  echo "round $round  launcher submit: $(until_running "$job" "$start") s to all 4 ranks running (job $job)"
  start=$(now)
  job=$(sbatch --parsable floor.sbatch)
  echo "round $round  hand-written sbatch + docker run: $(until_running "$job" "$start") s (job $job)"
done
