#!/usr/bin/env bash
# The check #12 asks of a GPU host with Docker: for `--gpus '{"count": 2}'`, `render`,
# `up --dry-run` and `up` take the same GPUs and the same plan hash, and the container Docker
# made carries them (its io.launcher.gpus and io.launcher.plan-hash labels, its DeviceRequests).
# Needs a built launcher, an NVIDIA driver with at least two GPUs, Docker with the NVIDIA
# Container Toolkit, and an image with launcher-init (`launcher build` makes one).
#
#   tests/gpu/same-gpus.sh [LAUNCHER] [IMAGE]     defaults: build/launcher, the shell profile's image
#
# Prints one row per view and removes the environment it made. Exit codes: 0 all views agree,
# 1 they differ or a step failed, 3 this host cannot run the check (no GPUs, no toolkit).
set -uo pipefail

launcher=${1:-build/launcher}
image=${2:-}
env=same-gpus-$$
fail() { echo "same-gpus.sh: $1" >&2; exit "${2:-1}"; }

[ -x "$launcher" ] || fail "no launcher at $launcher: build it with \`make\`"
command -v nvidia-smi >/dev/null || fail "no nvidia-smi: this is not a GPU host" 3
gpu_count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
[ "$gpu_count" -ge 2 ] || fail "nvidia-smi lists $gpu_count GPU(s); the check needs 2" 3
docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia ||
    fail "Docker has no nvidia runtime (or does not answer): install the NVIDIA Container Toolkit" 3

request=(--profile shell --name "$env" --gpus '{"count": 2}')
[ -n "$image" ] && request+=(--image "$image")
out=$(mktemp -d)
trap '"$launcher" down "$env" --force >/dev/null 2>&1; rm -rf "$out"' EXIT

"$launcher" render --json "${request[@]}" >"$out/render.json" || fail "render failed"
"$launcher" up --dry-run --json "${request[@]}" >"$out/dry-run.json" || fail "up --dry-run failed"
"$launcher" up --json "${request[@]}" >"$out/up.json" || fail "up failed"
docker inspect "$env" >"$out/container.json" || fail "docker inspect $env failed"

python3 - "$out" <<'PYTHON'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
load = lambda name: json.loads((out / name).read_text())
render, dry_run, up = load("render.json"), load("dry-run.json"), load("up.json")
container = load("container.json")[0]
labels = container["Config"]["Labels"]
device_ids = [id for request in container["HostConfig"]["DeviceRequests"] or [] for id in request["DeviceIDs"] or []]
views = [
    ("render --json", ",".join(render["plan"]["gpus"]), render["plan_hash"]),
    ("up --dry-run --json", ",".join(dry_run["plan"]["gpus"]), dry_run["plan_hash"]),
    ("up --json", up["gpus"], "-"),
    ("container labels", labels["io.launcher.gpus"], labels["io.launcher.plan-hash"]),
    ("DeviceRequests", ",".join(device_ids), "-"),
]
for view, gpus, plan_hash in views:
    print(f"{view:<20} gpus {gpus:<8} plan hash {plan_hash}")
same_gpus = len({gpus for _, gpus, _ in views}) == 1
same_hash = len({plan_hash for _, _, plan_hash in views if plan_hash != "-"}) == 1
print("same GPUs and plan hash everywhere" if same_gpus and same_hash else "the views DIFFER")
sys.exit(0 if same_gpus and same_hash else 1)
PYTHON
