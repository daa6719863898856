#!/usr/bin/env bash
# The e2e suites as a rootless Podman user runs them (issue 27; a CTest entry of `make test`): as
# root, sets that user up (tools/ensure-podman.sh: packages, subordinate ids, its store, the base
# and lifecycle images copied from Docker), then runs BUILD's e2e tests as that user with
# LAUNCHER_ENGINE=podman. The tests' own engine calls go to that user's podman; tests that need
# root ([root]) or Docker's own GPU table ([docker-engine]) are left out. The user runs copies of
# the launcher, the tests and the tracked source in a temporary directory, since a build under
# root's home is not readable by it; the copies go when the run ends.
# Usage: tests/e2e/under-podman.sh BUILD [CATCH_FILTER]
#   (default: the lifecycle and security suites; the secrets checks are among them)
set -euo pipefail

build=$(cd "${1:?usage: under-podman.sh BUILD [CATCH_FILTER]}" && pwd)
filter=${2:-"[lifecycle]~[root]~[docker-engine],[security]~[root]~[docker-engine]"}
repository=$(cd "$(dirname "$0")/../.." && pwd)
user=launcher-podman
# A missing prerequisite skips (77), as in the e2e tests, unless CI requires every test to run.
skip() {
  echo "$0: $1: skipped" >&2
  [[ ${LAUNCHER_E2E_REQUIRED:-} == 1 ]] && exit 1
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "must run as root (it sets up $user)"
docker info >/dev/null 2>&1 || skip "no Docker engine answers (the images come from its store)"
image=${LAUNCHER_E2E_IMAGE:-$(cat "$build/image-tag" 2>/dev/null || true)}
[[ -n $image ]] || skip "no lifecycle image: $build/image-tag is missing (run \`make image\`)"

"$repository/tools/ensure-podman.sh" -u "$user" launcher-base:bookworm "$image"

stage=$(mktemp -d /tmp/launcher-e2e-podman.XXXXXX)
trap 'rm -rf -- "$stage"' EXIT
chmod 0755 "$stage"
install -m 0755 "$build/launcher" "$build/tests/e2e/e2e_tests" "$stage/"
mkdir "$stage/source"
# Readable by the user whatever owns the checkout or the umask it was made under.
git -c safe.directory="$repository" -C "$repository" ls-files -z | tar -C "$repository" --null -T - -cf - |
  tar -C "$stage/source" --no-same-owner --no-same-permissions -xf -
chmod -R a+rX "$stage"

home=$(getent passwd "$user" | cut -d: -f6)
# The tests give each launcher a config and state directory of its own (XDG_CONFIG_HOME), where
# Podman would look for its configuration too: name the user's files.
as_user() {
  (cd "$stage" && runuser -u "$user" -- env -u XDG_RUNTIME_DIR \
    CONTAINERS_STORAGE_CONF="$home/.config/containers/storage.conf" \
    CONTAINERS_CONF="$home/.config/containers/containers.conf" \
    LAUNCHER_ENGINE=podman LAUNCHER_DOCKER=podman "$@")
}
as_user "$stage/source/tests/e2e/remove-leftovers.sh"
as_user LAUNCHER_E2E_IMAGE="$image" LAUNCHER_E2E_BINARY="$stage/launcher" \
  LAUNCHER_E2E_SOURCE_DIR="$stage/source" "$stage/e2e_tests" "$filter" --durations yes
