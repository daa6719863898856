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

# NCCL reaches InfiniBand only through rdma-core's user-space libraries: verbs, the connection
# manager, and the providers that drive each adapter (libmlx5 for NVIDIA/Mellanox ConnectX). Without
# them it falls back to TCP sockets, up to ~40x slower, and says so only in NCCL_DEBUG=INFO output.
# The cache is read once: `ldconfig -p | grep -q` fails under pipefail whenever grep quits before
# ldconfig has written everything (SIGPIPE), which the devel image's longer cache made happen.
library_cache=$(ldconfig -p)
for library in libibverbs.so.1 librdmacm.so.1 libmlx5.so.1; do
  if ! grep -q "^[[:space:]]${library} (" <<<"$library_cache"; then
    echo "check_image: ${library} is not in ldconfig -p: NCCL would fall back to TCP sockets on InfiniBand" \
      "(install libibverbs1 ibverbs-providers librdmacm1)" >&2
    exit 1
  fi
done
if ! compgen -G '/usr/lib/*/libibverbs/libmlx5-rdmav*.so' >/dev/null; then
  echo "check_image: no mlx5 verbs provider in /usr/lib/*/libibverbs: libibverbs would find no adapter" \
    "(install ibverbs-providers)" >&2
  exit 1
fi

if compgen -G '/etc/ssh/ssh_host_*' >/dev/null; then
  echo "check_image: host keys are baked into the image: $(echo /etc/ssh/ssh_host_*)" >&2
  exit 1
fi
command -v launcher-init >/dev/null
echo "image checks passed"
