#!/usr/bin/env bash
# A real Slurm cluster on this one host, from Debian's packages: munged, slurmctld and two slurmd
# ("nodes" n1 and n2; Debian builds Slurm with multiple-slurmd support), everything under STATE.
# Usage: tests/slurm/cluster.sh start|stop STATE
#   start: writes STATE/slurm.conf and STATE/env (source it: SLURM_CONF for the clients), and
#          waits until both nodes are idle. A failed start stops what it started.
#   stop:  stops the daemons whose pid files are in STATE and removes STATE.
# Node n2 can be made to see a different image under the profile's tag (the node-side digest
# check's test; both nodes share this host's one Docker engine): while STATE/n2-docker-swap holds
# "TAG OTHER-IMAGE", the task prolog puts STATE/n2-bin first on PATH for tasks on n2, where a
# `docker` runs the real one with every argument TAG replaced by OTHER-IMAGE.
set -euo pipefail

action=${1:-}
state=${2:-}
if [[ -z $action || -z $state ]]; then
  echo "usage: $0 start|stop STATE" >&2
  exit 2
fi

daemons=(slurmd-n2 slurmd-n1 slurmctld munged)
# shellcheck source=/dev/null # tests/support/patience.sh, checked on its own
source "$(dirname "$0")/../support/patience.sh"

queue_empty() { [[ -z $(squeue -h 2>/dev/null) ]]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
nodes_idle() { [[ $(sinfo -h -N -o '%T' 2>/dev/null | sort -u) == idle ]]; }

stop() {
  local name pid
  # Jobs first, so that their tasks remove their containers while slurmd still runs them.
  if [[ -f $state/env ]] && command -v squeue >/dev/null; then
    # shellcheck source=/dev/null
    source "$state/env"
    scancel --quiet --user root 2>/dev/null || true
    wait_until 30 queue_empty || true
  fi
  for name in "${daemons[@]}"; do
    [[ -f $state/$name.pid ]] || continue
    pid=$(cat "$state/$name.pid")
    kill "$pid" 2>/dev/null || true
    wait_until 5 gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$state"
}

# A port block of its own per cluster: other engineers may run one at the same time.
free_port_base() {
  local base
  for _ in $(seq 20); do
    base=$((20000 + RANDOM % 20000))
    if ! ss -Htln | awk '{print $4}' | grep -Eq ":($base|$((base + 1))|$((base + 2)))\$"; then
      echo "$base"
      return
    fi
  done
  echo "no free port block found" >&2
  return 1
}

write_n2_swap() {
  local docker
  docker=$(command -v docker)
  mkdir -p "$state/n2-bin"
  cat >"$state/task-prolog.sh" <<EOF
#!/bin/sh
if [ "\$SLURMD_NODENAME" = n2 ] && [ -f $state/n2-docker-swap ]; then echo "export PATH=$state/n2-bin:\$PATH"; fi
EOF
  cat >"$state/n2-bin/docker" <<EOF
#!/bin/bash
read -r tag other <$state/n2-docker-swap
arguments=()
for argument in "\$@"; do
  if [[ \$argument == "\$tag" ]]; then arguments+=("\$other"); else arguments+=("\$argument"); fi
done
exec $docker "\${arguments[@]}"
EOF
  chmod 0755 "$state/task-prolog.sh" "$state/n2-bin/docker"
}

start() {
  for program in munged slurmctld slurmd sbatch ss; do
    command -v "$program" >/dev/null || { echo "$program is missing: tools/ensure-packages.sh test installs it" >&2; exit 1; }
  done
  mkdir -p "$state"
  trap 'stop' ERR
  local port host
  port=$(free_port_base)
  host=$(hostname)

  # munge: a key and a socket of its own; root runs it here (--force), as it runs Slurm.
  mkdir -p "$state/munge"
  chmod 0700 "$state/munge"
  dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$state/munge/munge.key"
  munged --force --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munged.pid" --log-file="$state/munge/munged.log" --seed-file="$state/munge/munge.seed"

  mkdir -p "$state/spool/ctld" "$state/log"
  write_n2_swap
  # n2 at another loopback address: torchrun tells agents apart by the name their address resolves
  # to (and pid), which must differ per node as on a real cluster.
  cat >"$state/slurm.conf" <<EOF
ClusterName=launcher$port
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/%n
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd-%n.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$state/task-prolog.sh
SchedulerType=sched/builtin
SelectType=select/linear
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/log/jobcomp.txt
KillWait=10
MinJobAge=600
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$((port + 1)) CPUs=1 State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.2 Port=$((port + 2)) CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=n[1-2] Default=YES DefaultTime=00:20:00 MaxTime=INFINITE State=UP
PartitionName=open Nodes=n[1-2] Default=NO MaxTime=INFINITE State=UP
EOF
  echo "export SLURM_CONF=$state/slurm.conf" >"$state/env"
  export SLURM_CONF=$state/slurm.conf
  slurmctld -i
  slurmd -N n1
  slurmd -N n2
  if wait_until 60 nodes_idle; then
    trap - ERR
    return
  fi
  echo "the nodes did not become idle:" >&2
  sinfo -N -l >&2 || true
  tail -n 20 "$state/log/"*.log >&2 || true
  stop
  exit 1
}

case $action in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop STATE" >&2; exit 2 ;;
esac
