#!/usr/bin/env bash
# The devel variant's promises, in its test stage (no GPU): nvcc 12.4 builds C++ and CUDA against
# the image's torch, and what it builds runs on the wheels' CUDA 12.6 runtime, the only copy
# (CUDA minor-version compatibility). Usage: devel_check.sh LIBTORCH_PROGRAM LIBTORCH_CONFIGURE_LOG
set -euo pipefail
libtorch_program=$1 libtorch_configure_log=$2

wheels=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
runtime_version=$(python3 -c 'import importlib.metadata as m; print(m.version("nvidia-cuda-runtime-cu12"))')
echo "devel_check: $(nvcc --version | grep release), the wheels' CUDA runtime $runtime_version"
fail() {
  echo "devel_check: $*" >&2
  exit 1
}

# find_package(Torch) with CUDA on: Torch's CMake takes nvcc's version as the toolkit's.
grep -E 'libtorch-check: CUDA' "$libtorch_configure_log" ||
  fail "find_package(Torch) did not enable CUDA (configure log: $libtorch_configure_log)"

extension=$(python3 /src/checks/cuda_extension_check.py | tee /dev/stderr | tail -n 1)

# gpu-probe, built by the image's nvcc: cubins for sm_80 and sm_90, PTX for compute_90; with no
# GPU it reports so and exits 3 (kernels/README.md).
# (cuobjdump names a PTX by the architecture it was made for: compute_90's is "sm_90.ptx".)
elf=$(cuobjdump --list-elf /usr/local/bin/gpu-probe)
ptx=$(cuobjdump --list-ptx /usr/local/bin/gpu-probe)
for arch in sm_80 sm_90; do grep -q "\.$arch\.cubin$" <<<"$elf" || fail "gpu-probe has no $arch cubin: $elf"; done
grep -q '\.sm_90\.ptx$' <<<"$ptx" || fail "gpu-probe has no compute_90 PTX: $ptx"
echo "gpu-probe: cubins $(grep -o 'sm_[0-9]*' <<<"$elf" | sort -u | tr '\n' ' ')and PTX for $(grep -o 'sm_[0-9]*' <<<"$ptx" | sort -u | tr '\n' ' ')"
set +e
probe=$(gpu-probe --json)
probe_exit=$?
set -e
echo "gpu-probe --json (exit $probe_exit): $probe"
[[ $probe_exit -eq 3 && $probe == *'"gpu_visible":false'* ]] ||
  fail "gpu-probe --json without a GPU must say gpu_visible false and exit 3"

# Every CUDA library of everything built here resolves into the wheels, and libcudart once: a
# path through /usr/lib is one of the links the devel stage made to the wheels' files.
for program in "$libtorch_program" "$extension" /usr/local/bin/gpu-probe /usr/local/bin/gpu-check; do
  echo "ldd $program:"
  libraries=$(ldd "$program" | awk '$1 ~ /^lib(cu|nv|nccl)/ && $2 == "=>" {print $1, $3}')
  [[ $(grep -c '^libcudart\.so\.12 ' <<<"$libraries") -eq 1 ]] || fail "$program does not load libcudart.so.12 once"
  while read -r name path; do
    [[ $path != not ]] || fail "$program: $name not found"
    real=$(realpath "$path")
    echo "  $name => $path$([[ $real == "$path" ]] || echo " -> $real")"
    [[ $real == "$wheels"/* ]] || fail "$program loads $name from $real, not from the wheels in $wheels"
  done <<<"$libraries"
done
echo "devel checks passed"
