#!/usr/bin/env bash
# The README's quick start as a new user runs it: `make up` in a fresh clone of the commit under
# test, whose login URL must then answer 200 from Jupyter, and whose env serves the real image's
# torch when make up built the real image. It reuses the machine's packages,
# ccache, base image and Docker layer cache, prints how long `make up` took, and removes the
# environment and the clone afterwards. Usage: tests/quickstart/run.sh [REPOSITORY]
set -euo pipefail

repository=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$repository/tests/support/verdicts.sh"
if ! docker info >/dev/null 2>&1 && [[ $(id -u) -ne 0 ]]; then
  skip "no Docker engine answers and only root could start one"
fi
commit=$(git -C "$repository" rev-parse HEAD)
if [[ -n $(git -C "$repository" status --porcelain --untracked-files=no) ]]; then
  echo "note: the clone has commit $commit only; uncommitted changes in $repository are not tested"
fi

work=$(mktemp -d /tmp/launcher-quickstart.XXXXXX)
# The environment is named after the clone's folder (`<folder>-jupyter`): a random folder name
# keeps it apart from every other environment on this engine.
clone=$work/quickstart-${work##*.}
env=$(basename "$clone")-jupyter
# The clone goes even when `down` fails; that failure still fails the test.
cleanup() {
  local removed=0
  if [[ -n $(docker ps --all --quiet --filter "label=io.launcher.env=$env") ]]; then
    "$clone/build/launcher" down "$env" --force || removed=$?
  fi
  rm -rf "$work"
  if [[ $removed -ne 0 ]]; then
    echo "FAIL: launcher down $env exited with status $removed" >&2
    exit 1
  fi
}
trap cleanup EXIT

# Secrets and profiles of its own, so the user's files neither change the test nor get its env.
export XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config
# No change to the defaults: the built-in jupyter profile takes a free host port itself.

git clone --quiet --no-checkout "$repository" "$clone"
git -C "$clone" checkout --quiet --detach "$commit"

echo "make up in a fresh clone of $commit ($clone)"
# Its full output (with the token) stays in the private work folder; the log shown is redacted.
output=$work/make-up.log
start=$SECONDS
# A new user's make: nothing inherited from a make that runs this test.
make_status=0
(cd "$clone" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make up) 2>&1 | tee "$output" |
  sed -u 's/token=[^[:space:]]*/token=<redacted>/g' || make_status=$?
echo "make up took $((SECONDS - start)) s"
[[ $make_status -eq 0 ]] || fail "make up exited with status $make_status (its output is above)"

url=$(sed -n 's/^ *open *\(http:[^ ]*\).*/\1/p' "$output" | tail -n 1)
[[ -n $url ]] || fail "make up printed no login URL (its output is above)"
grep -q "^$env is ready" "$output" || fail "make up did not report $env ready"

# The URL and the token go to curl on stdin, never in argv, where any local user could read them.
http_status() {
  curl --config - --silent --show-error --location --cookie "" --output /dev/null --write-out '%{http_code}'
}
login=$(printf 'url = "%s"\n' "$url" | http_status)
base=${url%%\?*}
with_token=$(printf 'url = "%sapi/status"\nheader = "Authorization: token %s"\n' "$base" "${url#*token=}" | http_status)
without_token=$(printf 'url = "%sapi/status"\n' "$base" | http_status)
echo "login URL: $login; /api/status with the token: $with_token, without: $without_token"
if [[ $login != 200 || $with_token != 200 || $without_token != 403 ]]; then
  fail "Jupyter at ${base} should answer 200 to the login URL and to the token, 403 without it"
fi

# The real image serves the torch of the Makefile's REAL_IMAGE_ROW; the air-gapped fallback (built
# only when pip's index did not answer) serves Debian's.
if grep -q '^make up: the real image' "$output"; then
  wanted=$(sed -n 's/^REAL_IMAGE_ROW ?=.*--torch \([^ ]*\).*/\1/p' "$clone/Makefile")
  torch=$("$clone/build/launcher" exec "$env" -- python3 -c 'import torch; print(torch.__version__)' </dev/null)
  echo "torch in $env: $torch (the real image's row: $wanted)"
  if [[ -z $wanted || ${torch%%+*} != "$wanted" ]]; then
    fail "make up built the real image, but its env serves torch '$torch', not $wanted"
  fi
else
  echo "note: make up built the air-gapped fallback (its output says why): the real image's torch is not checked"
fi
echo "PASS: make up's URL logs in to Jupyter"
