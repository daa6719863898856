#!/usr/bin/env bash
# Prints the Docker CLI that builds the images: $BUILD_DOCKER when set, else Debian's docker.io
# client (/usr/bin/docker, BuildKit built in) when installed, else `docker` from PATH. Recipes
# ask it after tools/ensure-packages.sh, which may have just installed docker.io; `launcher
# build` refuses a CLI without BuildKit, naming the fix. Usage: build-docker.sh
set -euo pipefail

if [[ -n ${BUILD_DOCKER:-} ]]; then
  echo "$BUILD_DOCKER"
elif [[ -x /usr/bin/docker ]]; then
  echo /usr/bin/docker
else
  echo docker
fi
