#!/usr/bin/env bash
# The e2e tests of what runs in an environment (Jupyter's token and redaction, SSH, up/down,
# faults, security, resources, unsaved work) once more, against the real image: COMMAND (the e2e
# tests with a filter, or tests/e2e/under-podman.sh) with LAUNCHER_E2E_IMAGE set to
# `make real-image`'s tag.
#   tests/image/run_e2e_on_real_image.sh BUILD_DIR COMMAND [ARGUMENT...]
set -euo pipefail
build="${1:?usage: run_e2e_on_real_image.sh BUILD_DIR COMMAND [ARGUMENT...]}"
[ $# -ge 2 ] || { echo "usage: run_e2e_on_real_image.sh BUILD_DIR COMMAND [ARGUMENT...]" >&2; exit 2; }
if [ ! -s "$build/real-image-tag" ]; then
  echo "SKIP: no $build/real-image-tag (make real-image builds the image)"
  if [ "${LAUNCHER_E2E_REQUIRED:-}" = 1 ]; then exit 1; fi
  exit 77
fi
LAUNCHER_E2E_IMAGE="$(cat "$build/real-image-tag")"
export LAUNCHER_E2E_IMAGE
exec "${@:2}"
