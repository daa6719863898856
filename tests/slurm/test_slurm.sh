#!/usr/bin/env bash
# The Slurm end-to-end tests: the real launcher against the real cluster that cluster.sh started
# for CTest's slurm fixture (its state directory in $LAUNCHER_SLURM_STATE) and the real Docker engine.
# Usage: tests/slurm/test_slurm.sh BUILD_DIR ddp|cancel|digest|bad-input
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR TEST}" && pwd)
test_name=${2:?usage: $0 BUILD_DIR TEST}
repository=$(cd "$(dirname "$0")/../.." && pwd)
launcher=$build/launcher

skip() {
  echo "SKIP: $*"
  [[ ${LAUNCHER_E2E_REQUIRED:-} == 1 ]] && exit 1
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

state=${LAUNCHER_SLURM_STATE:-}
[[ -n $state && -f $state/env ]] || skip "no test cluster (tests/slurm/cluster.sh start did not run or failed)"
# shellcheck source=/dev/null
source "$state/env"
docker info >/dev/null 2>&1 || skip "no Docker engine answers"
image=$(cat "$build/image-tag" 2>/dev/null || echo pytorch-cpu:1.13.0a0-debian12)
docker image inspect "$image" >/dev/null 2>&1 || skip "image $image is missing: make image builds it"
image_id=$(docker image inspect --format '{{.Id}}' "$image")

# A project folder of its own: the job mounts it at /workspace and writes its output there.
work=$(mktemp -d /tmp/launcher-slurm-test.XXXXXX)
export XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config
cp "$repository/examples/ddp_train.py" "$work/"
cd "$work"
jobs_submitted=()
cleanup_work() {
  local job
  for job in "${jobs_submitted[@]}"; do scancel "$job" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup_work EXIT

# torch 1.13's torchrun fails under Python 3.11 with its default --redirects; a mapping for a rank
# that does not exist leaves every real rank's output alone (see examples/CMakeLists.txt).
torchrun_workaround=(--redirects 9:1 --tee 9:1)

# Submits a CPU job of 2 nodes x 2 processes running ddp_train.py; prints the job id.
submit_ddp() {
  local job
  job=$("$launcher" submit --image "$image" --nodes 2 --procs-per-node 2 -- "${torchrun_workaround[@]}" ddp_train.py "$@")
  jobs_submitted+=("$job")
  echo "$job"
}

job_state() { squeue -h -t all -j "$1" -o %T; }

# Waits until the job has ended (up to $2 seconds); prints its final state.
wait_for_end() {
  local state_now
  for _ in $(seq $(($2 * 5))); do
    state_now=$(job_state "$1")
    case $state_now in PENDING | RUNNING | COMPLETING | CONFIGURING) sleep 0.2 ;; *) echo "$state_now"; return ;; esac
  done
  fail "job $1 still $state_now after $2 s"
}

cluster=$(scontrol show config | sed -n 's/^ClusterName *= *//p')
job_containers() {
  docker ps --all --quiet --filter "label=io.launcher.slurm-cluster=$cluster" --filter "label=io.launcher.slurm-job=$1"
}

# Waits until both nodes' containers run (up to $2 seconds).
wait_for_containers() {
  for _ in $(seq $(($2 * 5))); do
    [[ $(docker ps --quiet --filter "label=io.launcher.slurm-cluster=$cluster" --filter "label=io.launcher.slurm-job=$1" |
      wc -l) -eq 2 ]] && return
    sleep 0.2
  done
  fail "job $1's two containers did not start within $2 s (state $(job_state "$1"))"
}

# Processes on this host that belong to the job: its Slurm tasks, and torchrun in its containers.
job_processes() {
  local pid found=()
  for pid in /proc/[0-9]*; do
    if tr '\0' '\n' <"$pid/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$1" ||
      tr '\0' ' ' <"$pid/cmdline" 2>/dev/null | grep -q -- "--rdzv_id=$1 "; then
      found+=("${pid#/proc/}")
    fi
  done
  echo "${found[*]}"
}

# `launcher submit`: 2 nodes x 2 processes of ddp_train.py over gloo on CPU, in the project's image.
# All 4 ranks finish with identical parameters, and both nodes ran the same image (by job label).
test_ddp() {

  job=$(submit_ddp --steps 300)
  echo "job $job"
  wait_for_containers "$job" 120
  mapfile -t containers < <(job_containers "$job")
  images=$(docker inspect --format '{{index .Config.Labels "io.launcher.slurm-node"}} {{.Image}}' "${containers[@]}" | sort)
  echo "$images"
  [[ $(awk '{print $1}' <<<"$images" | tr '\n' ' ') == "n1 n2 " ]] || fail "expected one container on each of n1 and n2, found: $images"
  [[ $(awk '{print $2}' <<<"$images" | sort -u) == "$image_id" ]] || fail "the nodes' containers did not both run $image_id: $images"

  final=$(wait_for_end "$job" 300)
  output=$("$launcher" logs "$job")
  echo "$output" | grep -v '^step '
  [[ $final == COMPLETED ]] || fail "job $job ended $final: $output"
  grep -q "world size 4" <<<"$output" || fail "no 'world size 4' in the job's output: $output"
  # Ranks write to one output at once: two lines may run together, so each report is matched
  # wherever it is, not as a whole line.
  checksums=$(grep -o -E 'rank [0-3] of 4: parameters sha256 [0-9a-f]{64}' <<<"$output" | awk '{print $2, $7}' | sort)
  [[ $(awk '{print $1}' <<<"$checksums" | tr '\n' ' ') == "0 1 2 3 " ]] || fail "not all 4 ranks reported: $checksums"
  [[ $(awk '{print $2}' <<<"$checksums" | sort -u | wc -l) -eq 1 ]] || fail "the ranks' parameters differ: $checksums"
  grep -q "parameters identical on all 4 ranks" <<<"$output" || fail "ddp_train.py did not find identical parameters"
  [[ -z $(job_containers "$job") ]] || fail "containers of job $job are left: $(job_containers "$job")"

  listed=$("$launcher" jobs --json)
  python3 -c 'import json, sys; job, image = int(sys.argv[1]), sys.argv[2]; sys.exit(not any(j["job"] == job and j["state"] == "COMPLETED" and j["nodes"] == 2 and j["image"] == image for j in json.load(sys.stdin)))' \
    "$job" "$image_id" <<<"$listed" ||
    fail "launcher jobs does not list job $job as COMPLETED on 2 nodes with $image_id: $listed"
  echo "PASS: 4 ranks, world size 4, identical parameters; both nodes ran $image_id"
}

# `launcher cancel` and a plain `scancel` during a run: within 30 s no container with the job's
# label is left, no process of the job on this host, and Slurm says CANCELLED.
test_cancel() {

  check_cancelled() {
    local job=$1 how=$2 left processes
    for _ in $(seq 150); do
      left=$(job_containers "$job")
      processes=$(job_processes "$job")
      [[ -z $left && -z $processes && $(job_state "$job") == CANCELLED ]] && return
      sleep 0.2
    done
    fail "30 s after $how job $job: containers [$left], processes [$processes], state $(job_state "$job")"
  }

  for how in "launcher cancel" scancel; do
    job=$(submit_ddp --steps 1000000)
    wait_for_containers "$job" 120
    if [[ $how == scancel ]]; then
      scancel "$job"
    else
      said=$("$launcher" cancel "$job")
      [[ $said == "job $job: CANCELLED" ]] || fail "launcher cancel said: $said"
    fi
    check_cancelled "$job" "$how"
    echo "PASS: $how of job $job left no container and no process"
  done
}

# A node whose image differs from the submitted digest refuses the job, naming both digests, and
# no node starts a container. Simulated: both slurmd share this host's one Docker engine, so
# cluster.sh's task prolog gives tasks on n2 a `docker` that answers for another image (the
# project's image plus one label) whenever the profile's tag is asked for.
test_digest() {

  other=launcher-slurm-test-other:${work##*.}
  printf 'FROM %s\nLABEL io.launcher.test=other-digest\n' "$image" | docker build --quiet --tag "$other" - >/dev/null
  other_id=$(docker image inspect --format '{{.Id}}' "$other")
  cleanup_digest() {
    rm -f "$state/n2-docker-swap"
    docker image rm "$other" >/dev/null || true
    cleanup_work
  }
  trap cleanup_digest EXIT
  echo "$image $other" >"$state/n2-docker-swap"

  job=$(submit_ddp --steps 30)
  seen=""
  for _ in $(seq 600); do
    seen+=$(job_containers "$job")
    case $(job_state "$job") in PENDING | RUNNING | COMPLETING | CONFIGURING) sleep 0.1 ;; *) break ;; esac
  done
  final=$(job_state "$job")
  output=$("$launcher" logs "$job")
  [[ $final == FAILED ]] || fail "job $job ended $final, expected FAILED: $output"
  expected="launcher: node n2: image $image is $other_id here, but the job was submitted with $image_id; nothing was started on this node"
  grep -qF "$expected" <<<"$output" || fail "the job's output lacks \"$expected\": $output"
  grep -q "launcher: node n1" <<<"$output" && fail "node n1 (same image) was refused: $output"
  [[ -z $seen ]] || fail "containers ran although n2's image differs: $seen"
  grep -q "launcher-init" <<<"$output" && fail "a container started: $output"
  echo "PASS: n2 refused ($other_id against $image_id); nothing ran"
}

# Runs the launcher expecting exit status $1 and a message containing $2; the rest is its arguments.
expect_failure() {
  local status=$1 message=$2 output code=0
  shift 2
  output=$("$@" 2>&1) || code=$?
  [[ $code -eq $status ]] || fail "$* exited $code, expected $status: $output"
  grep -qF -- "$message" <<<"$output" || fail "$* said \"$output\", expected \"$message\""
  echo "ok: $*: $output"
}

# Each bad input of `launcher submit`, against the real cluster: a clear message, exit 2 for
# usage errors, Slurm's own reason quoted when Slurm refuses.
test_bad_input() {
  local submit=("$launcher" submit --image "$image")
  expect_failure 2 "command line (--nodes 0): a job needs at least 1 node" "${submit[@]}" --nodes 0 -- ddp_train.py
  expect_failure 2 "the cluster's nodes offer at most 0 GPUs each" "${submit[@]}" --nodes 1 --gpus-per-node 2 -- ddp_train.py
  expect_failure 2 "partition debug's nodes offer at most 0 GPUs each" \
    "${submit[@]}" --nodes 1 --gpus-per-node 1 --partition debug -- ddp_train.py
  expect_failure 2 "runs the jupyter service, which is not a batch job" \
    "$launcher" submit --profile jupyter --image "$image" --nodes 1 -- ddp_train.py
  expect_failure 1 "Slurm refused the job: sbatch failed: invalid partition specified: nosuch" \
    "${submit[@]}" --nodes 1 --partition nosuch -- ddp_train.py
  # A submit host without Slurm's clients (or Docker: the image is pinned by a repo digest here).
  local pinned
  pinned="$image@sha256:$(printf '%064d' 0)"
  expect_failure 3 "sbatch is not on PATH" env PATH="$work/empty" "$launcher" submit --image "$pinned" --nodes 1 -- ddp_train.py
  # A team file that requires pinned images refuses the unpinned one.
  printf '{"version": 1, "require_pinned_image": true, "profiles": {}}\n' >"$work/launcher.json"
  expect_failure 2 "require_pinned_image is true" "${submit[@]}" --nodes 1 -- ddp_train.py
  rm "$work/launcher.json"
}

case $test_name in
  ddp) test_ddp ;;
  cancel) test_cancel ;;
  digest) test_digest ;;
  bad-input) test_bad_input ;;
  *) fail "unknown test $test_name" ;;
esac
