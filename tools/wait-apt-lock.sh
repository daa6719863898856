#!/usr/bin/env bash
# Waits until no process holds apt's and dpkg's locks (another apt run, unattended-upgrades
# after boot, a CI job installing packages), at most SECONDS (default 300). When a lock is held
# it says once which process holds it, then waits; past the limit it fails naming the holder.
# apt-get's own -o DPkg::Lock::Timeout does not cover `apt-get update`'s lock, and names no one
# when run with -q. Usage: wait-apt-lock.sh [-t SECONDS] [LOCK_FILE...]
set -euo pipefail

limit=300
if [[ ${1:-} == -t ]]; then
  limit=${2:-}
  shift 2 || true
fi
[[ $limit =~ ^[0-9]+$ ]] || { echo "usage: $0 [-t SECONDS] [LOCK_FILE...]" >&2; exit 2; }
locks=("$@")
[[ ${#locks[@]} -gt 0 ]] ||
  locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)

# The process holding a lock on FILE, as "NAME (PID N)", from /proc/locks (a bare bookworm has
# neither fuser nor lsof); nothing when no one holds one. /proc/locks names a file by its device
# and inode, "MAJOR:MINOR:INODE" in hex, hex and decimal; a waiter's line has "->" before its type.
lock_holder() {
  local device inode id fields pid name
  read -r device inode < <(stat -c '%d %i' -- "$1" 2>/dev/null) || return 0
  id=$(printf '%02x:%02x:%s' $(((device >> 8) & 0xfff)) $(((device & 0xff) | ((device >> 12) & 0xfff00))) "$inode")
  while read -r -a fields; do
    [[ ${fields[1]:-} != "->" && ${fields[5]:-} == "$id" ]] || continue
    pid=${fields[4]}
    # An open file description lock has no PID (-1); a holder in another PID namespace shows 0.
    if [[ $pid -le 0 ]]; then
      echo "a process this namespace cannot see"
    else
      name=$(cat "/proc/$pid/comm" 2>/dev/null) || name="an exited process"
      echo "$name (PID $pid)"
    fi
    return 0
  done </proc/locks
}

# The first held lock of the list, as "LOCK\tHOLDER"; nothing when none is held.
first_held() {
  local lock holder
  for lock in "${locks[@]}"; do
    holder=$(lock_holder "$lock")
    [[ -z $holder ]] || { printf '%s\t%s\n' "$lock" "$holder"; return 0; }
  done
}

deadline=$((SECONDS + limit))
announced=""
while held=$(first_held) && [[ -n $held ]]; do
  lock=${held%%$'\t'*} holder=${held#*$'\t'}
  if ((SECONDS >= deadline)); then
    echo "apt's lock $lock is still held by $holder after $limit s: let it finish, then run this again" >&2
    exit 1
  fi
  if [[ $announced != "$held" ]]; then
    echo "apt's lock $lock is held by $holder: waiting for it, at most $limit s" >&2
    announced=$held
  fi
  sleep 1
done
