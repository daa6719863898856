#!/usr/bin/env bash
# `make up`: on a fresh machine, ends with a Jupyter URL that works. Builds the default image
# for this host when needed (the CUDA flavor where an NVIDIA driver and the Container Toolkit
# are present, otherwise the CPU flavor offline from a local debootstrap base), then runs
# `launcher up --profile jupyter` on it. Usage: tools/up.sh [path/to/launcher]
set -euo pipefail

launcher=${1:-build/launcher}
build_docker=$(tools/build-docker.sh)
tools/ensure-docker.sh

if [[ -e /proc/driver/nvidia/version ]] && docker info --format '{{json .Runtimes}}' | grep -q nvidia; then
  echo "NVIDIA driver and Container Toolkit found: building the CUDA image (needs the registries)"
  result=$("$launcher" --docker "$build_docker" build --json)
else
  echo "no NVIDIA GPU runtime here: building the CPU image offline from Debian's PyTorch"
  images/make-base.sh
  result=$("$launcher" --docker "$build_docker" build --offline --cuda cpu --json)
fi
tag=$(sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' <<<"$result")
exec "$launcher" up --profile jupyter --image "$tag"
