#!/usr/bin/env bash
# Times `launcher render` as a user runs it, process start included: median, min and max of
# N runs on the built-in jupyter profile, next to `launcher --version` (the same binary loaded
# and started, doing nothing) and /bin/true (the floor this machine puts under any command).
# Usage: bench-render.sh [path/to/launcher] [N]
set -euo pipefail

launcher=$(readlink -f "${1:-build/launcher}")
runs=${2:-20}
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cd "$workdir"
export XDG_CONFIG_HOME="$workdir/config"

# Prints "median min max" in microseconds of N runs of the command.
time_runs() {
  "$@" >/dev/null # warm the page cache
  local times=() start end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000)))
  done
  local sorted
  mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
  echo "${sorted[$((runs / 2))]} ${sorted[0]} ${sorted[$((runs - 1))]}"
}

report() {
  local name=$1 median min max
  read -r median min max
  awk -v name="$name" -v runs="$runs" -v median="$median" -v min="$min" -v max="$max" 'BEGIN {
    printf "%-40s %d runs: median %6.2f ms, min %6.2f ms, max %6.2f ms\n", name, runs, median / 1000, min / 1000, max / 1000
  }'
}

time_runs "$launcher" render | report "launcher render (built-in jupyter)"
time_runs "$launcher" --version | report "launcher --version (start-up only)"
time_runs /bin/true | report "/bin/true (process start floor)"
