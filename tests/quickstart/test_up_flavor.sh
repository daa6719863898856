#!/usr/bin/env bash
# Which image `make up` (tools/up.sh) builds: the real image when pip's index answers, the offline
# fallback when it does not (refused at once, or silent past the short timeout) or when
# FLAVOR=offline asks, the real image without asking when FLAVOR=real does; each said in one line.
# Then the built tag is recorded as the default image and served. A stub stands in for the
# launcher, so nothing is built; the engine and the base image must be there already (ensure-docker
# and make-base then do nothing). Usage: tests/quickstart/test_up_flavor.sh [REPOSITORY]
set -euo pipefail

repository=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$repository/tests/support/verdicts.sh"
docker info >/dev/null 2>&1 || skip "no Docker engine answers"
docker image inspect launcher-base:bookworm >/dev/null 2>&1 || skip "no base image (images/make-base.sh makes it)"

work=$(mktemp -d /tmp/launcher-up-flavor.XXXXXX)
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The launcher's stand-in: records each call (less the Docker CLI it is given), and answers
# `build --json` with a tag.
cat >"$work/launcher" <<EOF_STUB
#!/usr/bin/env bash
[[ \$1 == --docker ]] && shift 2
echo "\$*" >>"$work/calls"
[[ " \$* " == *" build "* ]] && echo '{"tag":"launcher-test/stub:1"}'
exit 0
EOF_STUB
chmod +x "$work/launcher"
row=(--torch 2.7.1 --cuda 12.6 --os debian12 --variant runtime --base launcher-base:bookworm)

failures=0
fail() {
  echo "FAIL: $1" >&2
  failures=$((failures + 1))
}

# Runs up.sh with VARIABLE=VALUE settings; its output goes to $work/out, its calls to $work/calls.
run_up() {
  rm -f "$work/calls"
  status=0
  (cd "$repository" && env -u FLAVOR "$@" tools/up.sh "$work/launcher" "${row[@]}") >"$work/out" 2>&1 || status=$?
}

# Expects up.sh to have ended well, said `line` and made exactly these calls.
expect() {
  local case=$1 line=$2 build=$3
  local calls
  calls=$(cat "$work/calls" 2>/dev/null || true)
  local wanted="$build --json
default-image launcher-test/stub:1
up --profile jupyter --image launcher-test/stub:1"
  [[ $status -eq 0 ]] || fail "$case: up.sh exited with $status: $(cat "$work/out")"
  grep -qF -- "$line" "$work/out" || fail "$case: no line '$line' in: $(cat "$work/out")"
  [[ $calls == "$wanted" ]] || fail "$case: the launcher was called with
$calls
instead of
$wanted"
}

# An index that answers: a local HTTP server.
mkdir "$work/simple"
# The log exists before the server's shell opens it: under load sed would otherwise look first.
: >"$work/server.log"
python3 -u -m http.server --bind 127.0.0.1 0 --directory "$work" >>"$work/server.log" 2>&1 &
servers+=($!)
for _ in $(seq 1 100); do
  port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$work/server.log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "FAIL: the local index did not start: $(cat "$work/server.log")" >&2; exit 1; }
answering="http://127.0.0.1:$port/simple/"

# An index that takes connections and never answers: a socket that listens and never accepts.
python3 -c '
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
print(listener.getsockname()[1], flush=True)
time.sleep(600)' >"$work/silent.port" &
servers+=($!)
for _ in $(seq 1 100); do
  [[ -s $work/silent.port ]] && break
  sleep 0.1
done
silent="http://127.0.0.1:$(cat "$work/silent.port")/simple/"

run_up PIP_INDEX_URL="$answering"
expect "index answers" "make up: the real image (torch + CUDA wheels from $answering, JupyterLab 4)" "build ${row[*]}"

run_up PIP_INDEX_URL=http://127.0.0.1:1/simple/
expect "index refuses" "make up: http://127.0.0.1:1/simple/ did not answer within 5 s: building the air-gapped fallback" \
  "build --offline --cuda cpu"

start=$SECONDS
run_up PIP_INDEX_URL="$silent"
expect "index silent" "make up: $silent did not answer within 5 s: building the air-gapped fallback" \
  "build --offline --cuda cpu"
(( SECONDS - start <= 15 )) || fail "index silent: the fallback took $((SECONDS - start)) s, not about 5"

run_up PIP_INDEX_URL="$answering" FLAVOR=offline
expect "FLAVOR=offline" "make up: the air-gapped fallback (Debian's PyTorch, CPU, classic notebook), as FLAVOR=offline asks" \
  "build --offline --cuda cpu"

run_up PIP_INDEX_URL=http://127.0.0.1:1/simple/ FLAVOR=real
expect "FLAVOR=real" "make up: the real image, as FLAVOR=real asks" "build ${row[*]}"

run_up FLAVOR=gpu
[[ $status -eq 2 && ! -e $work/calls ]] || fail "FLAVOR=gpu: status $status, calls: $(cat "$work/calls" 2>/dev/null)"
grep -qF "make up: FLAVOR=gpu is not a flavor: real, offline, or unset" "$work/out" || fail "FLAVOR=gpu: $(cat "$work/out")"

[[ $failures -eq 0 ]] || exit 1
echo "PASS: make up builds the real image when pip's index answers, the offline fallback when it does not or when asked"
