#!/usr/bin/env bash
# The quick start on a bare machine: a clean Debian bookworm container (the debootstrapped base
# image) with an engine of its own, holding only a clone of the commit under test and the Docker CLI
# this machine kind ships at /usr/local/bin/docker (when the host has one), runs `make up` once:
# packages, Docker Engine, the base image, the real image, the env. It passes only if the URL that
# first run prints answers (/api/status 200 with the token, /lab 200) and the env's torch is the
# Makefile's real-image row; it prints the cold time. apt's package archive, the wheel cache and
# ccache are the host's, mounted, so the run costs what a machine of this kind with warm downloads
# costs; the engine, its images and its layer cache start empty.
# Usage: tests/quickstart/bare.sh [REPOSITORY]
set -euo pipefail

repository=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$repository/tests/support/verdicts.sh"
base=launcher-base:bookworm
docker info >/dev/null 2>&1 || skip "no Docker engine answers"
docker image inspect "$base" >/dev/null 2>&1 || skip "no base image $base (images/make-base.sh makes it)"
commit=$(git -C "$repository" rev-parse HEAD)
if [[ -n $(git -C "$repository" status --porcelain --untracked-files=no) ]]; then
  echo "note: the clone has commit $commit only; uncommitted changes in $repository are not tested"
fi

# On the disk, not in memory: the inner engine's images take gigabytes.
work=$(mktemp -d /var/tmp/launcher-bare.XXXXXX)
machine=launcher-bare-${work##*.}
cleanup() {
  docker rm --force "$machine" >/dev/null 2>&1 || true
  # The inner engine's mounts live in the machine's own mount namespace and go with it; should one
  # show here, nothing under it is deleted.
  if grep -q " $work/" /proc/self/mountinfo; then
    echo "FAIL: mounts under $work remain after the machine went; not deleting it" >&2
    exit 1
  fi
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet --no-checkout "$repository" "$work/launcher"
git -C "$work/launcher" checkout --quiet --detach "$commit"
mkdir "$work/docker"

cache=${XDG_CACHE_HOME:-$HOME/.cache}
mkdir -p "$cache/launcher/wheels" "$cache/ccache"
mounts=(
  # The inner engine's storage on the host's disk: overlay2 cannot stack on the machine's own overlay.
  -v "$work/docker:/var/lib/docker"
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw
  -v "$work/launcher:/root/launcher"
  -v /var/cache/apt/archives:/var/cache/apt/archives
  -v "$cache/launcher/wheels:/root/.cache/launcher/wheels"
  -v "$cache/ccache:/root/.cache/ccache"
)
# A machine of this kind trusts its egress proxy's certificate authority; installing
# ca-certificates there adds it to the system bundle that apt, pip and Python read.
[[ -d /usr/local/share/ca-certificates ]] &&
  mounts+=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
[[ -x /usr/local/bin/docker ]] && mounts+=(-v /usr/local/bin/docker:/usr/local/bin/docker:ro)

# What a nested dockerd needs where --privileged is refused (CAP_SYS_RESOURCE is outside this
# machine kind's bounding set): every capability the engine can give, no seccomp or AppArmor
# profile, and writable /proc/sys for its network settings. Engine 28 gives "ALL" as the bounding
# set allows; Engine 20.10 must be told to leave CAP_SYS_RESOURCE out, which Engine 28 refuses.
start_machine() {
  docker run --detach --init --name "$machine" --hostname bare --label io.launcher.test=quickstart-bare \
    --cap-add ALL "$@" --security-opt seccomp=unconfined \
    --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    "${mounts[@]}" "$base" sleep infinity >/dev/null
}
if ! start_machine 2>"$work/start.log"; then
  docker rm --force "$machine" >/dev/null 2>&1 || true
  start_machine --cap-drop SYS_RESOURCE || fail "the bare machine did not start: $(cat "$work/start.log")"
fi

on_machine() { docker exec --interactive --workdir /root/launcher "$machine" "$@"; }

echo "make up on a bare bookworm machine ($machine), in a fresh clone of $commit"
# The README assumes make; a debootstrapped minimal system lacks it.
on_machine bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null' </dev/null
output=$work/make-up.log
start=$SECONDS
# Each line with the seconds since make up began, so the phases' costs show.
stamp() { while IFS= read -r line; do printf '[%4d s] %s\n' $((SECONDS - start)) "$line"; done; }
make_status=0
# ccache compares the compiler by content: the machine's was installed a minute ago.
on_machine env CCACHE_COMPILERCHECK=content make up </dev/null 2>&1 | stamp | tee "$output" |
  sed -u 's/token=[^[:space:]]*/token=<redacted>/g' || make_status=$?
echo "cold make up on the bare machine took $((SECONDS - start)) s; its phases began at:"
for milestone in 'installing missing Debian packages' '-- Configuring done' 'Built target launcher$' \
  'made base image' 'wheel cache:' 'is ready'; do
  grep -m 1 -e "$milestone" "$output" | cut -c 1-100 || true
done
[[ $make_status -eq 0 ]] || fail "make up exited with status $make_status (its output is above)"

grep -q '^\[ *[0-9]* s\] make up: the real image' "$output" || fail "make up did not build the real image (its output is above)"
url=$(sed -n 's/^\[ *[0-9]* s\] *open *\(http:[^ ]*\).*/\1/p' "$output" | tail -n 1)
[[ -n $url ]] || fail "make up printed no login URL (its output is above)"
env=$(sed -n 's/^\[ *[0-9]* s\] \([^ ]*-jupyter\) is ready.*/\1/p' "$output" | tail -n 1)
[[ -n $env ]] || fail "make up did not report its environment ready"

# Asked on the machine, where the port is published; the URL (with its token) goes on stdin.
ask_jupyter=$(cat <<'EOF_PYTHON'
import sys, urllib.error, urllib.parse, urllib.request
url = sys.stdin.read().strip()
base, token = url.split("?")[0], urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]
def status(path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
    try:
        return urllib.request.urlopen(request, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code
print(status("api/status"), status("lab"))
EOF_PYTHON
)
statuses=$(on_machine python3 -c "$ask_jupyter" <<<"$url")
echo "/api/status and /lab with the token: $statuses"
[[ $statuses == "200 200" ]] || fail "Jupyter on the bare machine should answer 200 to /api/status and /lab with the token"

wanted=$(sed -n 's/^REAL_IMAGE_ROW ?=.*--torch \([^ ]*\).*/\1/p' "$work/launcher/Makefile")
torch=$(on_machine build/launcher exec "$env" -- python3 -c 'import torch; print(torch.__version__)' </dev/null)
engine=$(on_machine docker version --format '{{.Server.Version}}' </dev/null)
echo "torch in $env: $torch (the real image's row: $wanted); the machine's engine: Docker $engine"
[[ -n $wanted && ${torch%%+*} == "$wanted" ]] || fail "the env serves torch '$torch', not $wanted"
echo "PASS: the first make up on a bare machine serves torch $torch in JupyterLab"
