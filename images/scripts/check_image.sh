#!/usr/bin/env bash
# Runs inside the test stage: PyTorch imports, the LibTorch example builds from the image's own
# LibTorch and runs, torch.compile works where torch has it, no baked host key.
set -euo pipefail

python3 -c 'import torch; print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())'

# A CUDA LibTorch's find_package(Torch) enables CMake's CUDA language: it needs nvcc, which the
# wheel flavors on a plain OS base do not have (PyPI ships no nvcc for CUDA 12).
if python3 -c 'import torch, sys; sys.exit(1 if torch.version.cuda else 0)' || command -v nvcc >/dev/null; then
  mkdir -p /tmp/libtorch-check
  cp /src/checks/libtorch-check.cmake /tmp/libtorch-check/CMakeLists.txt
  cmake -S /tmp/libtorch-check -B /tmp/libtorch-check/build >/tmp/libtorch-check/configure.log
  cmake --build /tmp/libtorch-check/build -j "$(nproc)" >/dev/null
  /tmp/libtorch-check/build/libtorch-simplenet
else
  echo "check_image: LibTorch C++ example not built: CUDA torch and no nvcc in this image"
fi

python3 /src/checks/compile_check.py
python3 /src/checks/wheels_check.py
# The devel variant: nvcc from Debian's CUDA 12.4 on the wheels' CUDA 12.6 runtime.
if command -v nvcc >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.version.cuda else 1)'; then
  bash /src/checks/devel_check.sh /tmp/libtorch-check/build/libtorch-simplenet /tmp/libtorch-check/configure.log
fi

if compgen -G '/etc/ssh/ssh_host_*' >/dev/null; then
  echo "check_image: host keys are baked into the image: $(echo /etc/ssh/ssh_host_*)" >&2
  exit 1
fi
command -v launcher-init >/dev/null
echo "image checks passed"
