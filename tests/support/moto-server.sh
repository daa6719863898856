#!/usr/bin/env bash
# moto-server.sh start|stop [ADDRESS:PORT]
#
# A real S3 protocol server for the backup tests: moto_server (PyPI's `moto[server]`, SigV4,
# multipart uploads, server-side copies), the server projects moved their S3 CI to when MinIO
# stopped shipping binaries. `start` installs it into a venv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/launcher/moto from the hash-locked moto-requirements.txt (once;
# again when that file changes), starts it on ADDRESS:PORT (default 127.0.0.1:5000) with a pid
# file, and returns once it answers; a server already running there is reused. `stop` ends it.
# The server keeps its buckets in memory: a stop forgets them.
set -euo pipefail

die() {
  printf 'moto-server.sh: %s\n' "$1" >&2
  exit "${2:-1}"
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null # tests/support/patience.sh, checked on its own
source "$here/patience.sh"

requirements=$here/moto-requirements.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/launcher/moto
venv=$cache/venv

action=${1:-}
address_port=${2:-127.0.0.1:5000}
[[ $action == start || $action == stop ]] || die "usage: moto-server.sh start|stop [ADDRESS:PORT]" 2
[[ $address_port =~ ^([0-9A-Za-z.:-]+):([0-9]{1,5})$ ]] || die "expected ADDRESS:PORT, found '$address_port'" 2
address=${BASH_REMATCH[1]}
port=${BASH_REMATCH[2]}
pid_file=$cache/run/$address-$port.pid
log_file=$cache/run/$address-$port.log

# The venv is rebuilt when the requirements change; the stamp holds the hash it was built from.
# Concurrent test runs share the cache, so the install holds a lock.
install_venv() {
  local wanted
  wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
  mkdir -p "$cache/run"
  exec {lock}>"$cache/install.lock"
  flock "$lock"
  if [[ $(cat "$venv/requirements.sha256" 2>/dev/null) != "$wanted" ]]; then
    echo "moto-server.sh: installing moto_server into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --require-hashes --no-deps -r "$requirements" >&2 ||
      die "pip could not install $requirements into $venv"
    echo "$wanted" >"$venv/requirements.sha256"
  fi
  exec {lock}>&-
}

running_pid() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answers() {
  curl --silent --output /dev/null --max-time 2 "http://$address_port/"
}

case $action in
  start)
    if running_pid >/dev/null; then
      answers || die "moto_server (pid $(running_pid)) runs on $address_port but does not answer"
      exit 0
    fi
    install_venv
    # Detached (setsid) so that the test's process group ending does not end the server.
    setsid "$venv/bin/moto_server" -H "$address" -p "$port" </dev/null >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    wait_until 30 answers || {
      kill "$(cat "$pid_file")" 2>/dev/null || true
      die "moto_server did not answer on $address_port within 30 s; its log: $log_file"
    }
    ;;
  stop)
    pid=$(running_pid) || exit 0
    kill "$pid"
    wait_until 10 eval '! kill -0 '"$pid"' 2>/dev/null' || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pid_file" "$log_file"
    ;;
esac
