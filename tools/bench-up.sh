#!/usr/bin/env bash
# Times `launcher up` from command to ready for the Jupyter and SSH profiles, next to
#  - the floor: this script making the env's network as `up` does (`docker network create`),
#    running the very `docker run -d` argv the launcher renders, then polling the same readiness
#    condition every 10 ms (curl for Jupyter: 200 with the token and 403 without; ssh for sshd:
#    the pinned host key and "publickey" as the only method), and
#  - `devcontainer up` (npm @devcontainers/cli) on the same image with the same run arguments,
#    network and port: it returns once the container has started, so the time until the same
#    condition holds after it is shown too; skipped, in one line, where npm cannot install it, and
#  - `docker compose up -d --wait` (Compose v2) of the file `launcher export --format compose`
#    writes for the same profile: it returns once the image's health check passes, so the time
#    until the same condition holds after it is shown too.
# Rounds interleave them so a busy moment of the machine hits them alike. Also: the launcher's
# own CPU time and peak RSS (getrusage at its exit, tools/bench-rusage.c preloaded), the same with
# the Docker CLIs it runs (GNU time), and `launcher ps` with 20 environments running next to the
# `docker ps` it runs.
# Usage: bench-up.sh [path/to/launcher] [runs] [image]   (image: default build/image-tag)
set -euo pipefail

launcher=$(readlink -f "${1:-build/launcher}")
runs=${2:-5}
image=${3:-$(cat build/image-tag 2>/dev/null || true)}
docker=${DOCKER:-docker}
jupyter_port=${BENCH_JUPYTER_PORT:-18888}
ssh_port=${BENCH_SSH_PORT:-12222}
ps_envs=20
tools_dir=$(readlink -f build)/bench-tools

[[ -n $image ]] || { echo "bench-up.sh: no image given and build/image-tag is missing: run \`make image\`" >&2; exit 2; }
"$docker" image inspect "$image" >/dev/null 2>&1 || { echo "bench-up.sh: image $image is not on this host: run \`make image\`" >&2; exit 2; }
"$docker" compose version >/dev/null 2>&1 || { echo "bench-up.sh: no \`docker compose\` plugin: tools/ensure-packages.sh test installs it" >&2; exit 2; }
for program in curl ssh ssh-keygen /usr/bin/time python3 "${CC:-cc}"; do
  command -v "$program" >/dev/null || { echo "bench-up.sh: $program is missing (apt-get install curl openssh-client time python3 gcc)" >&2; exit 2; }
done
mkdir -p "$tools_dir"
rusage_library=$tools_dir/bench-rusage.so
"${CC:-cc}" -O2 -shared -fPIC -o "$rusage_library" "$(dirname "$(readlink -f "$0")")/bench-rusage.c"
devcontainer=$tools_dir/node_modules/.bin/devcontainer
if [[ ! -x $devcontainer ]] && command -v npm >/dev/null; then
  echo "installing @devcontainers/cli into $tools_dir (npm)"
  timeout 300 npm install --silent --no-audit --no-fund --fetch-retries=1 --prefix "$tools_dir" @devcontainers/cli \
    >/dev/null 2>&1 || true
fi
if [[ ! -x $devcontainer ]]; then
  echo "devcontainer rows skipped: npm could not install @devcontainers/cli (no npm registry reachable, or no npm)"
  devcontainer=
fi

workdir=$(mktemp -d)
export XDG_STATE_HOME=$workdir/state XDG_CONFIG_HOME=$workdir/config
project=$workdir/project
mkdir -p "$project"
cd "$project"
# Every container the bench makes is named with this prefix, so cleanup finds them all.
prefix=bench$$-
cleanup() {
  "$docker" ps -a --format '{{.Names}}' | grep "^$prefix" | xargs -r "$docker" rm -f >/dev/null || true
  "$docker" network ls --format '{{.Name}}' | grep "^launcher-$prefix" | xargs -r "$docker" network rm >/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench -f "$workdir/client_key"
user=$(id -un)
cat >launcher.json <<EOF
{"version": 1, "profiles": {
  "bench-jupyter": {"extends": "jupyter", "image": "$image", "gpus": "none",
                    "ports": [{"host": $jupyter_port, "container": 8888}]},
  "bench-ssh": {"extends": "ssh", "image": "$image", "gpus": "none",
                "ports": [{"host": $ssh_port, "container": 22}],
                "ssh": {"authorized_keys": ["$(cat "$workdir/client_key.pub")"]}}}}
EOF

now_ns() { date +%s%N; }

# The readiness conditions, as a shell script checks them.
ready_jupyter() {
  local token=$1
  [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $token" "http://127.0.0.1:$jupyter_port/api/status") == 200 ]] &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$jupyter_port/api/status") == 403 ]]
}
ready_ssh() {
  local env=$1
  # ssh exits 255 either way: its message tells a pinned-key server offering only publickey.
  local answer
  answer=$(ssh -p "$ssh_port" -o BatchMode=yes -o PreferredAuthentications=none -o ConnectTimeout=2 \
    -o HostKeyAlias="launcher-$env" -o UserKnownHostsFile="$XDG_STATE_HOME/launcher/envs/$env/known_hosts" \
    -o StrictHostKeyChecking=yes "$user@127.0.0.1" true 2>&1) || true
  [[ $answer == *"Permission denied (publickey)."* ]]
}
ready() { # profile env
  if [[ $1 == jupyter ]]; then ready_jupyter "$(cat "$XDG_STATE_HOME/launcher/envs/$2/secrets/jupyter_token")"; else ready_ssh "$2"; fi
}
poll_until_ready() { # profile env
  local deadline=$(($(now_ns) + 120000000000))
  until ready "$1" "$2"; do
    (($(now_ns) < deadline)) || { echo "bench-up.sh: $2 not ready after 120 s" >&2; exit 1; }
    sleep 0.01
  done
}

# The env's network, then the argv `launcher up` would run for this profile, NUL-separated.
rendered_argv() {
  "$launcher" --docker "$docker" up --dry-run --json --profile "bench-$1" --name "$2" |
    python3 -c 'import json, sys; up = json.load(sys.stdin); sys.stdout.write("\0".join([up["plan"]["network"]] + up["argv"]))'
}

# The env's own network as `up` makes it (down removes it): traffic between containers off.
create_network() { # network env
  "$docker" network create --driver bridge --opt com.docker.network.bridge.enable_icc=false \
    --label "io.launcher.env=$2" "$1" >/dev/null
}

# Each method prints "milliseconds [own_cpu_ms own_rss_kib cpu_ms peak_rss_kib]" for one run
# and leaves nothing behind.
run_launcher() { # profile env
  local start end
  start=$(now_ns)
  /usr/bin/time -f '%U %S %M' -o "$workdir/time" env BENCH_RUSAGE_OUT="$workdir/own" LD_PRELOAD="$rusage_library" \
    "$launcher" --docker "$docker" up --profile "bench-$1" --name "$2" >/dev/null
  end=$(now_ns)
  "$launcher" --docker "$docker" down "$2" --force >/dev/null
  read -r user_s sys_s rss_kib <"$workdir/time"
  read -r own_user_us own_sys_us own_rss_kib <"$workdir/own"
  awk -v wall=$(((end - start) / 1000000)) -v u="$user_s" -v s="$sys_s" -v rss="$rss_kib" \
    -v own_cpu=$(((own_user_us + own_sys_us) / 1000)) -v own_rss="$own_rss_kib" \
    'BEGIN { printf "%d %d %d %d %d\n", wall, own_cpu, own_rss, (u + s) * 1000, rss }'
}
run_floor() { # profile env
  local argv network start end
  mapfile -d '' argv < <(rendered_argv "$1" "$2")
  network=${argv[0]}
  start=$(now_ns)
  create_network "$network" "$2"
  "${argv[@]:1}" >/dev/null
  poll_until_ready "$1" "$2"
  end=$(now_ns)
  "$docker" rm -f "$2" >/dev/null
  "$docker" network rm "$network" >/dev/null
  echo $(((end - start) / 1000000))
}
run_devcontainer() { # profile env
  local argv network folder=$workdir/devcontainer-$1 start started end
  mapfile -d '' argv < <(rendered_argv "$1" "$2")
  network=${argv[0]}
  # docker run -d --name ENV ... IMAGE: what lies between is the devcontainer's runArgs.
  local run_args=("${argv[@]:6:${#argv[@]}-7}")
  mkdir -p "$folder/.devcontainer"
  python3 - "$image" "$folder/.devcontainer/devcontainer.json" "${prefix}devcontainer" "${run_args[@]}" <<'EOF'
import json, sys
image, path, name, *run_args = sys.argv[1:]
with open(path, "w") as out:
    json.dump({"image": image, "runArgs": ["--name", name] + run_args,
               "overrideCommand": False, "updateRemoteUserUID": False}, out)
EOF
  start=$(now_ns)
  create_network "$network" "$2" # as the exported devcontainer.json's initializeCommand does
  "$devcontainer" up --docker-path "$(command -v "$docker")" --workspace-folder "$folder" --gpu-availability none \
    >"$workdir/devcontainer.log" 2>&1 || { cat "$workdir/devcontainer.log" >&2; exit 1; }
  started=$(now_ns)
  poll_until_ready "$1" "$2"
  end=$(now_ns)
  "$docker" rm -f "${prefix}devcontainer" >/dev/null
  "$docker" network rm "$network" >/dev/null
  echo $(((started - start) / 1000000)) $(((end - start) / 1000000))
}

run_compose() { # profile env
  local file=$workdir/compose-$1.yaml start started end
  # Exported before the clock starts: the file is made once and committed, not made per start.
  "$launcher" --docker "$docker" export --format compose --profile "bench-$1" --name "$2" --force -o "$file" >/dev/null
  start=$(now_ns)
  "$docker" compose -f "$file" up -d --wait >"$workdir/compose.log" 2>&1 || { cat "$workdir/compose.log" >&2; exit 1; }
  started=$(now_ns)
  poll_until_ready "$1" "$2"
  end=$(now_ns)
  "$docker" compose -f "$file" down >/dev/null 2>&1
  echo $(((started - start) / 1000000)) $(((end - start) / 1000000))
}

# "median min max" of the numbers on standard input.
summary() { sort -n | awk '{ v[NR] = $1 } END { printf "%d %d %d\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

row() { # label "median min max" unit
  read -r median min max <<<"$2"
  printf '%-44s median %7d %s   min %7d   max %7d\n' "$1" "$median" "$3" "$min" "$max"
}

echo "image $image, $runs runs each, docker $("$docker" version --format '{{.Client.Version}} client, {{.Server.Version}} engine'), $(nproc) cores"
for profile in jupyter ssh; do
  env=$prefix$profile
  # The first up makes the env's secrets (token, host key) once; every timed run reuses them.
  "$launcher" --docker "$docker" up --profile "bench-$profile" --name "$env" >/dev/null
  "$launcher" --docker "$docker" down "$env" --force >/dev/null
  : >"$workdir/launcher" ; : >"$workdir/floor" ; : >"$workdir/devcontainer" ; : >"$workdir/compose"
  for round in $(seq "$runs"); do
    echo "  $profile round $round/$runs" >&2
    run_launcher "$profile" "$env" >>"$workdir/launcher"
    run_floor "$profile" "$env" >>"$workdir/floor"
    [[ -z $devcontainer ]] || run_devcontainer "$profile" "$env" >>"$workdir/devcontainer"
    run_compose "$profile" "$env" >>"$workdir/compose"
  done
  launcher_ms=$(cut -d' ' -f1 "$workdir/launcher" | summary)
  floor_ms=$(summary <"$workdir/floor")
  echo
  echo "$profile: command to ready (ms)"
  row "launcher up" "$launcher_ms" ms
  row "floor: docker run -d + poll every 10 ms" "$floor_ms" ms
  if [[ -n $devcontainer ]]; then
    row "devcontainer up (returns when started)" "$(cut -d' ' -f1 "$workdir/devcontainer" | summary)" ms
    row "devcontainer up + the same poll" "$(cut -d' ' -f2 "$workdir/devcontainer" | summary)" ms
  fi
  row "docker compose up --wait (exported file)" "$(cut -d' ' -f1 "$workdir/compose" | summary)" ms
  row "docker compose up --wait + the same poll" "$(cut -d' ' -f2 "$workdir/compose" | summary)" ms
  row "launcher CPU time, its own (user + sys)" "$(cut -d' ' -f2 "$workdir/launcher" | summary)" ms
  row "launcher peak RSS, its own" "$(cut -d' ' -f3 "$workdir/launcher" | summary)" KiB
  row "launcher + its docker CLIs: CPU time" "$(cut -d' ' -f4 "$workdir/launcher" | summary)" ms
  row "launcher + its docker CLIs: largest RSS" "$(cut -d' ' -f5 "$workdir/launcher" | summary)" KiB
  read -r launcher_median _ _ <<<"$launcher_ms"
  read -r floor_median _ _ <<<"$floor_ms"
  awk -v l="$launcher_median" -v f="$floor_median" 'BEGIN {
    allowed = (f * 0.1 > 100) ? f * 0.1 : 100
    printf "launcher - floor = %+d ms (%+.1f%%); target: within %d ms: %s\n", l - f, (l - f) * 100 / f, allowed, (l - f <= allowed) ? "met" : "NOT met"
  }'
done

echo
echo "launcher ps with $ps_envs environments running (ms)"
for i in $(seq -w "$ps_envs"); do
  "$launcher" --docker "$docker" up --profile shell --image "$image" --gpus none --name "${prefix}ps-$i" >/dev/null
done
: >"$workdir/ps" ; : >"$workdir/docker-ps"
"$launcher" --docker "$docker" ps >/dev/null
for _ in $(seq 10); do
  start=$(now_ns)
  "$launcher" --docker "$docker" ps >/dev/null
  echo $((($(now_ns) - start) / 1000000)) >>"$workdir/ps"
  # The one engine call `ps` makes, alone: what the launcher adds is the difference.
  start=$(now_ns)
  "$docker" ps -a --no-trunc --filter label=io.launcher.env --format '{{json .}}' >/dev/null
  echo $((($(now_ns) - start) / 1000000)) >>"$workdir/docker-ps"
done
ps_ms=$(summary <"$workdir/ps")
row "launcher ps (10 runs)" "$ps_ms" ms
row "docker ps of the same containers (10 runs)" "$(summary <"$workdir/docker-ps")" ms
read -r ps_median _ _ <<<"$ps_ms"
echo "target: under 150 ms: $( ((ps_median < 150)) && echo met || echo "NOT met")"
