#!/usr/bin/env bash
# Runs inside the test stage: PyTorch imports, the LibTorch example builds from the image's own
# LibTorch and runs, torch.compile works where torch has it, no baked host key.
set -euo pipefail

python3 -c 'import torch; print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())'

mkdir -p /tmp/libtorch-check
cp /src/checks/libtorch-check.cmake /tmp/libtorch-check/CMakeLists.txt
cmake -S /tmp/libtorch-check -B /tmp/libtorch-check/build >/dev/null
cmake --build /tmp/libtorch-check/build -j "$(nproc)" >/dev/null
/tmp/libtorch-check/build/libtorch-simplenet

python3 /src/checks/compile_check.py
python3 /src/checks/wheels_check.py

if compgen -G '/etc/ssh/ssh_host_*' >/dev/null; then
  echo "check_image: host keys are baked into the image: $(echo /etc/ssh/ssh_host_*)" >&2
  exit 1
fi
command -v launcher-init >/dev/null
echo "image checks passed"
