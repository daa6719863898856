#!/usr/bin/env bash
# The one prepared script for a GPU host (nvcc, CMake and a PyTorch install with CUDA; no
# Docker): builds gpu-probe, gpu-check and the examples against the PyTorch wheel's LibTorch,
# runs them all, times torch's own copy and matmul on the same sizes, and prints one summary
# table. Full logs go to the directory given as the first argument, else $OUT, else
# ./gpu-run-<date>.
#
#   tests/gpu/run.sh [LOG_DIR]        PYTHON=python3.12 tests/gpu/run.sh   (a Python with torch)
#
# Exit codes: 0 every step passed, 1 a step failed, 3 this host has no usable GPU.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
log_dir=${1:-${OUT:-$PWD/gpu-run-$(date +%Y%m%d-%H%M%S)}}
python=$(command -v "${PYTHON:-python3}") || { echo "run.sh: no ${PYTHON:-python3} on PATH" >&2; exit 1; }
mkdir -p "$log_dir"
steps_file=$log_dir/steps.tsv
: >"$steps_file"

fail() { echo "run.sh: $1" >&2; exit "${2:-1}"; }

# Runs one named step with its output in $log_dir/<name>.log and records its exit code.
step() {
    local name=$1
    shift
    echo "run.sh: $name" >&2
    "$@" >"$log_dir/$name.log" 2>&1
    local exit_code=$?
    printf '%s\t%s\n' "$name" "$exit_code" >>"$steps_file"
    return "$exit_code"
}

command -v nvidia-smi >/dev/null || fail "no nvidia-smi: this is not a GPU host" 3
nvidia-smi >"$log_dir/nvidia-smi.txt" 2>&1 || fail "nvidia-smi failed: see $log_dir/nvidia-smi.txt" 3
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null ||
    fail "$python has no torch with a usable GPU" 3
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[ -x "$nvcc" ] || fail "no nvcc on PATH or in /usr/local/cuda/bin"
torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')

# Only this issue's folders: the rest of the project needs libraries a bare GPU host lacks.
source_dir=$log_dir/source
mkdir -p "$source_dir"
cat >"$source_dir/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(launcher-gpu VERSION 0.1.0 LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_BUILD_TYPE Release)
enable_testing()
add_subdirectory($repo/kernels kernels)
add_subdirectory($repo/runtime/gpu-check gpu-check)
add_subdirectory($repo/examples examples)
CMAKE
build_dir=$log_dir/build
started=$(date +%s)
if ! step configure cmake -S "$source_dir" -B "$build_dir" -DCMAKE_CUDA_COMPILER="$nvcc" \
    -DCMAKE_CUDA_ARCHITECTURES=native -DCMAKE_PREFIX_PATH="$torch_prefix" -DGPU_PROBE_UNIT_TESTS=OFF \
    -DEXAMPLES_PYTHON="$python"; then
    fail "configuring failed: see $log_dir/configure.log"
fi
step build cmake --build "$build_dir" -j"$(nproc)" || fail "the build failed: see $log_dir/build.log"
echo "build: $(($(date +%s) - started)) s" >>"$log_dir/build.log"

step gpu-probe sh -c "'$build_dir/kernels/gpu-probe' --json >'$log_dir/gpu-probe.json'"
step gpu-check sh -c "'$build_dir/gpu-check/gpu-check' --json >'$log_dir/gpu-check.json'"
step ctest ctest --test-dir "$build_dir" --output-on-failure
step libtorch-simplenet "$build_dir/examples/libtorch-simplenet"
step validate_env "$python" "$repo/examples/validate_env.py"
step ddp_train "$python" -m torch.distributed.run --standalone --nproc_per_node=auto "$repo/examples/ddp_train.py"
step compile_amp "$python" "$repo/examples/compile_amp.py"
step torch-reference sh -c "'$python' '$repo/tests/gpu/torch_reference.py' '$log_dir/gpu-probe.json' >'$log_dir/torch-reference.json'"

"$python" "$repo/tests/gpu/summarize.py" "$log_dir" | tee "$log_dir/summary.txt"
! cut -f2 "$steps_file" | grep -qv '^0$'
