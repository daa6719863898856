#!/usr/bin/env bash
# remove-leftovers.sh against the real engine: it removes the container and network of an e2e run
# that is gone (its e2e_tests process no longer runs) and spares those of a run still going on this
# host (another clone's, CI's). Skips (77) without an engine, fails instead under LAUNCHER_E2E_REQUIRED=1.
set -euo pipefail
docker=${LAUNCHER_DOCKER:-docker}
base=${LAUNCHER_E2E_BASE_IMAGE:-launcher-base:bookworm}
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$(dirname "$0")/../support/verdicts.sh"
"$docker" info >/dev/null 2>&1 || skip "no Docker engine answers"
"$docker" image inspect "$base" >/dev/null 2>&1 || skip "base image $base is missing: run images/make-base.sh"

work=$(mktemp -d /tmp/launcher-leftovers.XXXXXX)
# A run still going: a process named e2e_tests. A run that is gone: a PID that has exited.
cp "$(command -v sleep)" "$work/e2e_tests"
"$work/e2e_tests" 600 &
live_pid=$!
sh -c 'exit 0' &
gone_pid=$!
wait "$gone_pid"
live=e2e-leftover-check-$live_pid
gone=e2e-leftover-check-$gone_pid
cleanup() {
  kill "$live_pid" 2>/dev/null || true
  "$docker" rm -f "$live" "$gone" >/dev/null 2>&1 || true
  "$docker" network rm "launcher-$live" "launcher-$gone" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

for name in "$live" "$gone"; do
  "$docker" network create --label "io.launcher.env=$name" "launcher-$name" >/dev/null
  "$docker" create --name "$name" --label "io.launcher.env=$name" "$base" true >/dev/null
done
"$(dirname "$0")/remove-leftovers.sh"

"$docker" container inspect "$live" >/dev/null 2>&1 || fail "the container of a run still going ($live) was removed"
"$docker" network inspect "launcher-$live" >/dev/null 2>&1 || fail "the network of a run still going (launcher-$live) was removed"
! "$docker" container inspect "$gone" >/dev/null 2>&1 || fail "the container of a run that is gone ($gone) is left"
! "$docker" network inspect "launcher-$gone" >/dev/null 2>&1 || fail "the network of a run that is gone (launcher-$gone) is left"
echo "PASS: removed $gone and its network, spared $live and its network"
