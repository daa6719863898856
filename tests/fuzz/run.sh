#!/usr/bin/env bash
# Runs every fuzz target's committed seeds once at full length (the regression cases, some of
# 200 KB), then fuzzes it for SECONDS from them with inputs of up to 16 KiB, which keeps the
# executions fast; fails on the first crash, leak or timeout. Usage: run.sh BUILD_DIR SECONDS [TARGET...]
# New inputs go to a scratch corpus under BUILD_DIR, so the committed seeds stay as reviewed;
# a crashing input is left in BUILD_DIR/fuzz-artifacts/ to be added to the seeds once fixed.
set -euo pipefail
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_profile fuzz_flags fuzz_interpolate fuzz_docker_output fuzz_nvidia_smi fuzz_backup_manifest)

mkdir -p "$build/fuzz-artifacts"
for target in "${targets[@]}"; do
  scratch="$build/fuzz-corpus/$target"
  mkdir -p "$scratch"
  seeds=("$here/corpus/$target"/*)
  echo "== $target: ${#seeds[@]} seeds, then ${seconds}s of fuzzing"
  if ! "$build/tests/fuzz/$target" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "${seeds[@]}" > "$build/fuzz-artifacts/$target-seeds.log" 2>&1; then
    cat "$build/fuzz-artifacts/$target-seeds.log"
    exit 1
  fi
  "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target-" "$scratch" "$here/corpus/$target"
done
