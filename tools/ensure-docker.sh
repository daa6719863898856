#!/usr/bin/env bash
# Makes sure a Docker engine answers. As root on a host without a service manager (a
# container, CI), it starts dockerd in the background itself and says so. When the engine
# cannot start, the message says why: not installed, not on PATH, or exited (with its log).
set -euo pipefail

docker_bin=${LAUNCHER_DOCKER:-docker}
"$docker_bin" info >/dev/null 2>&1 && exit 0
sudo="sudo "
[[ $(id -u) -eq 0 ]] && sudo=""
command -v "$docker_bin" >/dev/null || {
  echo "the Docker CLI '$docker_bin' is not found (set LAUNCHER_DOCKER, or ${sudo}apt-get install docker.io)" >&2
  exit 1
}

log_lines=15
# Debian's docker.io puts dockerd in /usr/sbin, which is not on PATH for users or after a plain `su`.
installed_dockerd=$(command -v dockerd || true)
for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
  [[ -z $installed_dockerd && -x $dir/dockerd ]] && installed_dockerd=$dir/dockerd
done
if [[ -z $installed_dockerd ]]; then
  echo "no Docker engine answers and none is installed (no dockerd): ${sudo}apt-get install docker.io" >&2
  exit 1
fi

if [[ -n $sudo ]]; then
  echo "no Docker engine answers to '$docker_bin info'; start it (sudo systemctl start docker)" >&2
  echo "or add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again)" >&2
  exit 1
fi

# Shows the engine's last log lines (its log file, or the journal under systemd), then the reason.
fail_with_log() {
  if [[ -d /run/systemd/system ]]; then
    echo "--- the last $log_lines lines of journalctl --unit docker ---" >&2
    journalctl --unit docker --lines "$log_lines" --no-pager >&2 || true
  else
    echo "--- the last $log_lines lines of $log ---" >&2
    tail -n "$log_lines" "$log" >&2
  fi
  echo "the Docker engine did not start: $1" >&2
  exit 1
}

if [[ -d /run/systemd/system ]]; then
  echo "starting the Docker service: systemctl start docker"
  systemctl start docker || fail_with_log "systemctl start docker failed"
else
  if ! command -v dockerd >/dev/null; then
    echo "dockerd is installed at $installed_dockerd but its folder is not on PATH ($PATH);" \
      "use a login shell (su -) or add $(dirname "$installed_dockerd") to PATH" >&2
    exit 1
  fi
  log=/var/log/launcher-dockerd.log
  echo "no service manager here: starting dockerd in the background (log: $log)"
  # Its own session: the engine outlives the shell that started it. --wait keeps $! the
  # engine's lifetime even if setsid has to fork, so an engine that dies is noticed below.
  setsid --wait nohup dockerd >"$log" 2>&1 </dev/null &
  dockerd_pid=$!
fi
for _ in $(seq 1 60); do
  "$docker_bin" info >/dev/null 2>&1 && exit 0
  if [[ -n ${dockerd_pid:-} ]] && ! kill -0 "$dockerd_pid" 2>/dev/null; then
    status=0
    wait "$dockerd_pid" || status=$?
    fail_with_log "dockerd exited with status $status before answering"
  fi
  sleep 0.5
done
fail_with_log "no answer to '$docker_bin info' within 30 s"
