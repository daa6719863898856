#!/usr/bin/env bash
# Times the launcher on hostile profile inputs (issue 24): long extends chains and cycles, thousands
# of ports, volumes and flags. Prints each run's status, seconds and first error line; asserts nothing.
# Usage: tests/bench/hostile-profiles.sh LAUNCHER [LIMIT_SECONDS]
# Everything (HOME, XDG_*) lives in a temporary tree, removed at the end.
set -u
bin=$1; limit=${2:-20}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state
mkdir -p "$HOME"
gen() { python3 - "$@" <<'PY'
import json, sys
kind, n = sys.argv[1], int(sys.argv[2])
prof = {}
if kind == "chain":
    for i in range(n): prof[f"p{i}"] = {"extends": f"p{i+1}"} if i + 1 < n else {}
elif kind == "cycle":
    for i in range(n): prof[f"p{i}"] = {"extends": f"p{(i+1) % n}"}
elif kind == "ports":
    prof["p0"] = {"ports": [{"host": 20000 + i, "container": 20000 + i} for i in range(n)]}
elif kind == "volumes":
    prof["p0"] = {"volumes": [{"host": f"/tmp/v{i}", "container": f"/mnt/{i}", "create": True} for i in range(n)]}
print(json.dumps({"version": 1, "profiles": prof}))
PY
}
run() { # name, dir, args...
  local name=$1 dir=$2; shift 2
  local start=$(date +%s.%N)
  (cd "$dir" && timeout -s KILL "$limit" "$bin" "$@" >/dev/null 2>"$tmp/err"); local rc=$?
  local end=$(date +%s.%N)
  printf '%-28s rc=%-3s %6.2fs  %s\n' "$name" "$rc" "$(echo "$end - $start" | bc)" "$(head -c 150 "$tmp/err" | head -1)"
}
for spec in "chain 15000" "cycle 20000" "chain 100000" "ports 8000" "volumes 8000"; do
  set -- $spec; d=$tmp/$1-$2; mkdir -p "$d"; gen $1 $2 > "$d/launcher.json"
  run "render $1 $2" "$d" render --profile p0
done
d=$tmp/chain-100000; run "profiles (chain 100000)" "$d" profiles
d=$tmp/flags; mkdir -p "$d"; args=(); for i in $(seq 0 9999); do args+=(-p "$((30000+i)):$((30000+i))"); done
run "render 10000 -p" "$d" render --profile shell "${args[@]}"
args=(); for i in $(seq 0 9999); do args+=(-e "V$i=$i"); done
run "render 10000 -e" "$d" render --profile shell "${args[@]}"
