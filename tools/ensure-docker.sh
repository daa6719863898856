#!/usr/bin/env bash
# Makes sure a Docker engine answers. As root on a host without a service manager (a
# container, CI), it starts dockerd in the background itself and says so.
set -euo pipefail

docker_bin=${LAUNCHER_DOCKER:-docker}
"$docker_bin" info >/dev/null 2>&1 && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "no Docker engine answers to '$docker_bin info'; start it (sudo systemctl start docker)" >&2
  echo "or add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again)" >&2
  exit 1
fi
if [[ -d /run/systemd/system ]]; then
  echo "starting the Docker service: systemctl start docker"
  systemctl start docker
else
  log=/var/log/launcher-dockerd.log
  echo "no service manager here: starting dockerd in the background (log: $log)"
  # Its own session: the engine outlives the shell that started it.
  setsid nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  "$docker_bin" info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "the Docker engine did not answer within 30 s; see /var/log/launcher-dockerd.log" >&2
exit 1
