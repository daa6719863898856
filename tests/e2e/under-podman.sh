#!/usr/bin/env bash
# The e2e suites as a rootless Podman user runs them (issue 27): as root, sets that user up
# (tools/ensure-podman.sh: packages, subordinate ids, its store, the base and lifecycle images
# copied from Docker), then runs BUILD's e2e tests as that user with LAUNCHER_ENGINE=podman. The
# tests' own engine calls go to that user's podman; tests that need root ([root]) or Docker's own
# GPU table ([docker-engine]) are left out. The build tree must be readable by the user (the tests
# start BUILD/launcher by its path). Not yet part of `make test`.
# Usage: tests/e2e/under-podman.sh BUILD [CATCH_FILTER] (default: the lifecycle and security suites)
set -euo pipefail

build=$(cd "${1:?usage: under-podman.sh BUILD [CATCH_FILTER]}" && pwd)
filter=${2:-"[lifecycle]~[root]~[docker-engine],[security]~[root]~[docker-engine]"}
repository=$(cd "$(dirname "$0")/../.." && pwd)
user=launcher-podman
[[ $(id -u) -eq 0 ]] || { echo "$0: must run as root (it sets up $user)" >&2; exit 1; }
image=${LAUNCHER_E2E_IMAGE:-$(cat "$build/image-tag")}

"$repository/tools/ensure-podman.sh" -u "$user" launcher-base:bookworm "$image"
runuser -u "$user" -- test -x "$build/launcher" ||
  { echo "$0: $user cannot run $build/launcher: the build tree must be readable by it" >&2; exit 1; }
home=$(getent passwd "$user" | cut -d: -f6)
# The tests give each launcher a config and state directory of its own (XDG_CONFIG_HOME), where
# Podman would look for its configuration too: name the user's files.
cd /tmp
exec runuser -u "$user" -- env -u XDG_RUNTIME_DIR \
  CONTAINERS_STORAGE_CONF="$home/.config/containers/storage.conf" \
  CONTAINERS_CONF="$home/.config/containers/containers.conf" \
  LAUNCHER_ENGINE=podman LAUNCHER_DOCKER=podman LAUNCHER_E2E_IMAGE="$image" \
  "$build/tests/e2e/e2e_tests" "$filter"
