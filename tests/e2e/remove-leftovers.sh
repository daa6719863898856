#!/usr/bin/env bash
# Runs before the e2e tests (CTest fixture e2e_clean): removes the containers and networks of
# e2e environments that an interrupted earlier run left behind. Every e2e environment is named
# e2e-*-PID after the e2e_tests process that made it; nothing else is touched, and neither is what
# a run still going on this host uses (another clone's, CI's): its PID still runs e2e_tests. Left
# networks would take Docker's address ranges one by one until `launcher up` can make no network.
set -euo pipefail
docker=${LAUNCHER_DOCKER:-docker}
"$docker" info >/dev/null 2>&1 || exit 0 # no engine: the e2e tests say so themselves

# Reads names on stdin; prints those whose e2e_tests process is gone.
abandoned() {
  local name pid
  while read -r name; do
    pid=${name##*-}
    [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == e2e_tests ]] || echo "$name"
  done
}

containers=$("$docker" ps -a --filter label=io.launcher.env --format '{{.Names}}' | grep '^e2e-' | abandoned || true)
networks=$("$docker" network ls --filter label=io.launcher.env --format '{{.Name}}' | grep '^launcher-e2e-' | abandoned || true)
xargs -r "$docker" rm -f <<<"$containers" >/dev/null
xargs -r "$docker" network rm <<<"$networks" >/dev/null
echo "removed $(wc -w <<<"$containers") e2e containers and $(wc -w <<<"$networks") e2e networks left by earlier runs"
