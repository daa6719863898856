#!/usr/bin/env bash
# The Slurm end-to-end tests: the real launcher against the real cluster that cluster.sh started
# for CTest's slurm fixture (its state directory in $LAUNCHER_SLURM_STATE) and the real Docker engine.
# Usage: tests/slurm/test_slurm.sh BUILD_DIR ddp|cancel|digest|bad-input|rendezvous|env-values|dead-node
set -euo pipefail

build=$(cd "${1:?usage: $0 BUILD_DIR TEST}" && pwd)
test_name=${2:?usage: $0 BUILD_DIR TEST}
repository=$(cd "$(dirname "$0")/../.." && pwd)
launcher=$build/launcher
# shellcheck source=/dev/null # tests/support/patience.sh, checked on its own
source "$repository/tests/support/patience.sh"

# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$repository/tests/support/verdicts.sh"

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
squatter=
cleanup_work() {
  local job
  for job in "${jobs_submitted[@]}"; do scancel "$job" 2>/dev/null || true; done
  [[ -z $squatter ]] || kill "$squatter" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup_work EXIT

# torch 1.13's torchrun fails under Python 3.11 with its default --redirects; a mapping for a rank
# that does not exist leaves every real rank's output alone (see examples/CMakeLists.txt).
torchrun_workaround=(--redirects 9:1 --tee 9:1)

# Submits a CPU job of 2 nodes x 2 processes running ddp_train.py; sets job to its id (not in a
# subshell: the EXIT trap cancels every job in jobs_submitted).
submit_ddp() {
  job=$("$launcher" submit --image "$image" --nodes 2 --procs-per-node 2 -- "${torchrun_workaround[@]}" ddp_train.py "$@")
  jobs_submitted+=("$job")
}

job_state() { squeue -h -t all -j "$1" -o %T; }
job_ended() {
  case $(job_state "$1") in PENDING | RUNNING | COMPLETING | CONFIGURING) return 1 ;; *) return 0 ;; esac
}

# Waits until the job has ended (up to $2 seconds, scaled by the load); prints its final state.
wait_for_end() {
  wait_until "$2" job_ended "$1" || fail "job $1 still $(job_state "$1") after $2 s"
  job_state "$1"
}

cluster=$(scontrol show config | sed -n 's/^ClusterName *= *//p')
job_containers() {
  docker ps --all --quiet --filter "label=io.launcher.slurm-cluster=$cluster" --filter "label=io.launcher.slurm-job=$1"
}

both_containers_run() {
  [[ $(docker ps --quiet --filter "label=io.launcher.slurm-cluster=$cluster" --filter "label=io.launcher.slurm-job=$1" |
    wc -l) -eq 2 ]]
}

# Waits until both nodes' containers run (up to $2 seconds, scaled by the load).
wait_for_containers() {
  wait_until "$2" both_containers_run "$1" ||
    fail "job $1's two containers did not start within $2 s (state $(job_state "$1"))"
}

# Processes on this host that belong to the job: its Slurm tasks, and torchrun in its containers.
job_processes() {
  local file found=()
  # One grep over every process (a tr and a grep for each would take minutes on a loaded host).
  for file in $(grep -lzx -e "SLURM_JOB_ID=$1" /proc/[0-9]*/environ 2>/dev/null) \
    $(grep -lzx -e "--rdzv_id=$1" /proc/[0-9]*/cmdline 2>/dev/null); do
    file=${file#/proc/}
    found+=("${file%%/*}")
  done
  echo "${found[*]}"
}

# `launcher submit`: 2 nodes x 2 processes of ddp_train.py over gloo on CPU, in the project's image.
# All 4 ranks finish with identical parameters, and both nodes ran the same image (by job label).
test_ddp() {

  submit_ddp --steps 300
  echo "job $job"
  wait_for_containers "$job" 120
  mapfile -t containers < <(job_containers "$job")
  images=$(docker inspect --format '{{index .Config.Labels "io.launcher.slurm-node"}} {{.Image}}' "${containers[@]}" | sort)
  echo "$images"
  [[ $(awk '{print $1}' <<<"$images" | tr '\n' ' ') == "n1 n2 " ]] || fail "expected one container on each of n1 and n2, found: $images"
  [[ $(awk '{print $2}' <<<"$images" | sort -u) == "$image_id" ]] || fail "the nodes' containers did not both run $image_id: $images"
  # Each node's values, computed there (both nodes are this host): /dev/shm half its memory, the
  # task's CPUs, as much locked memory as its dockerd may grant.
  local expected_shm expected_cpus expected_memlock node_values
  # The node's arithmetic, in MiB: half its memory, rounded down.
  local memory_mib
  memory_mib=$(($(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo) / 1024))
  expected_shm=$((memory_mib / 2))
  expected_shm=$((expected_shm * 1048576))
  expected_cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
  expected_memlock=$(sed -n 's/^Max locked memory *[^ ]* *\([^ ]*\) .*/\1/p' "/proc/$(pidof -s dockerd)/limits")
  [[ $expected_memlock =~ ^[0-9]+$ ]] || expected_memlock=-1
  node_values=$(docker inspect --format '{{.HostConfig.ShmSize}} {{.HostConfig.CpusetCpus}} {{.HostConfig.Memory}} {{range .HostConfig.Ulimits}}{{if eq .Name "memlock"}}{{.Hard}}{{end}}{{end}}' "${containers[@]}" | sort -u)
  [[ $node_values == "$expected_shm $expected_cpus 0 $expected_memlock" ]] ||
    fail "the containers' shm, CPUs, memory and memlock are [$node_values], expected [$expected_shm $expected_cpus 0 $expected_memlock]"

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
  python3 -c 'import json, sys; job, image, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]; sys.exit(not any(j["job"] == job and j["state"] == "COMPLETED" and j["nodes"] == 2 and j["image"] == image and j["tag"] == tag for j in json.load(sys.stdin)))' \
    "$job" "$image_id" "$image" <<<"$listed" ||
    fail "launcher jobs does not list job $job as COMPLETED on 2 nodes with $image ($image_id): $listed"
  # The output is under the user's state directory, not in the project.
  local output_file
  output_file=$(scontrol show job -o "$job" | sed -n 's/.* StdOut=\([^ ]*\).*/\1/p')
  [[ $output_file == "$XDG_STATE_HOME/launcher/slurm/launcher-"*"-$job.out" && -s $output_file ]] ||
    fail "job $job's output is $output_file, not under $XDG_STATE_HOME/launcher/slurm"
  [[ -z $(find "$work" -maxdepth 1 -name 'slurm-*.out') ]] || fail "slurm-*.out files in the project: $(ls "$work")"
  echo "PASS: 4 ranks, world size 4, identical parameters; both nodes ran $image_id"
}

# `launcher cancel` and a plain `scancel` during a run: within 30 s (scaled by the load) no
# container with the job's label is left, no process of the job on this host, and Slurm says CANCELLED.
test_cancel() {

  cancelled() {
    left=$(job_containers "$1")
    processes=$(job_processes "$1")
    [[ -z $left && -z $processes && $(job_state "$1") == CANCELLED ]]
  }
  check_cancelled() {
    local job=$1 how=$2 left processes
    wait_until 30 cancelled "$job" ||
      fail "30 s after $how job $job: containers [$left], processes [$processes], state $(job_state "$job")"
  }

  for how in "launcher cancel" scancel; do
    submit_ddp --steps 1000000
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

  submit_ddp --steps 30
  seen=""
  job_ended_noting_containers() {
    seen+=$(job_containers "$1")
    job_ended "$1"
  }
  wait_until 60 job_ended_noting_containers "$job" || true # the state is checked below
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

# An -e value against another local user during a job (issue 25): nobody reads every
# /proc/*/cmdline of this host (both nodes' tasks and docker run included) from before the submit
# until the job has ended, and the value is in no command line, not in the batch script Slurm
# holds, not in an exported function; the job's env file is 0600 and gone when the job ends; and
# the containers on both nodes had the value.
test_env_values() {
  local secret job env_files final output expected_hash
  secret=slurm-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  # Not local: the EXIT trap runs after this function has returned.
  scan_dir=$(mktemp -d /tmp/launcher-slurm-scan.XXXXXX)
  chmod 0755 "$scan_dir"
  cleanup_env_values() {
    touch "$scan_dir/stop"
    wait 2>/dev/null || true
    rm -rf "$scan_dir"
    cleanup_work
  }
  trap cleanup_env_values EXIT
  # The needle reaches the scanner in its environment, never on its own command line.
  NEEDLE="$secret" setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c '
import json, os, sys
needle, stop = os.environ["NEEDLE"].encode(), sys.argv[1]
scans, docker_runs, hits = 0, set(), {}
while not os.path.exists(stop):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/" + pid + "/cmdline", "rb") as f:
                line = f.read()
        except OSError:
            continue
        words = line.split(b"\0")
        if len(words) > 2 and words[0].endswith(b"docker") and words[1] == b"run":
            docker_runs.add(pid)
        if needle in line:
            hits[pid] = line.replace(b"\0", b" ").decode(errors="replace")[:300]
    scans += 1
print(json.dumps({"scans": scans, "docker_runs": len(docker_runs), "hits": hits}))
' "$scan_dir/stop" >"$scan_dir/seen.json" &
  scanner_pid=$!

  cat >"$work/show_env.py" <<'PY'
import hashlib, os, time
print("HF_TOKEN sha256", hashlib.sha256(os.environ["HF_TOKEN"].encode()).hexdigest(), flush=True)
time.sleep(3)
PY
  job=$(HF_TOKEN=$secret "$launcher" submit -e HF_TOKEN --image "$image" --nodes 2 --procs-per-node 1 -- \
    "${torchrun_workaround[@]}" show_env.py)
  jobs_submitted+=("$job")
  echo "job $job"
  wait_for_containers "$job" 120
  script=$(scontrol write batch_script "$job" - 2>&1) || fail "scontrol write batch_script $job failed: $script"
  # The test's own checks match with bash itself: a grep would put the value on its command line.
  if [[ $script == *"$secret"* ]]; then fail "the batch script Slurm holds contains the value"; fi
  # shellcheck disable=SC2016 # the script's own words, not expanded here
  grep -q -- '--env-file "$LAUNCHER_ENV_FILE"' <<<"$script" || fail "the batch script passes no --env-file: $script"
  mapfile -t env_files < <(find "$work" -maxdepth 1 -name '.launcher-*.env')
  [[ ${#env_files[@]} -eq 1 ]] || fail "expected one job env file in $work, found: ${env_files[*]}"
  [[ $(stat -c %a "${env_files[0]}") == 600 ]] || fail "${env_files[0]} has mode $(stat -c %a "${env_files[0]}"), not 600"
  # The functions the tasks run (BASH_FUNC_run_on_node%% in their environment) name the file only.
  local pid functions
  for pid in $(job_processes "$job" 2>/dev/null); do
    functions=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep '^BASH_FUNC_' || true)
    if [[ $functions == *"$secret"* ]]; then fail "an exported function of process $pid holds the value"; fi
  done

  final=$(wait_for_end "$job" 300)
  touch "$scan_dir/stop"
  wait "$scanner_pid" || fail "the scanner failed"
  output=$("$launcher" logs "$job")
  [[ $final == COMPLETED ]] || fail "job $job ended $final: $output"
  seen=$(cat "$scan_dir/seen.json")
  echo "scan: $seen" | cut -c1-300
  python3 -c 'import json, sys; seen = json.load(sys.stdin); sys.exit(0 if not seen["hits"] and seen["docker_runs"] >= 2 else 1)' \
    <<<"$seen" || fail "the scan found the value in a command line, or saw fewer than 2 docker run: $seen"
  [[ -z $(find "$work" -maxdepth 1 -name '.launcher-*.env') ]] || fail "the job's env file is left after the job"
  expected_hash=$(printf '%s' "$secret" | sha256sum | awk '{print $1}')
  [[ $(grep -c "HF_TOKEN sha256 $expected_hash" <<<"$output") -eq 2 ]] ||
    fail "the containers on both nodes did not have the value: $output"
  if [[ $output == *"$secret"* ]]; then fail "the job's output shows the value"; fi
  echo "PASS: no command line, batch script or exported function held the value; both nodes' containers had it"
}

# A node dies mid-run (issue 28): n2's slurmstepd of the torchrun step is killed with SIGKILL, which
# Slurm does not notice (srun waits for that node forever). Within 60 s (scaled by the load) the job
# is FAILED, and no container and no process of the job is left on either node.
test_dead_node() {
  local job task stepd started left processes
  submit_ddp --steps 1000000
  echo "job $job"
  wait_for_containers "$job" 120
  # The task of step 1 (torchrun's; step 0 checks the image) on n2; its parent is the step daemon.
  local environ
  task=
  while read -r environ; do
    pid=${environ%/environ}
    if grep -qzx "SLURM_STEP_ID=1" "$environ" 2>/dev/null && grep -qzx "SLURMD_NODENAME=n2" "$environ" 2>/dev/null &&
      grep -qz "run_on_node" "$pid/cmdline" 2>/dev/null; then
      task=${pid#/proc/}
      break
    fi
  done < <(grep -lzx "SLURM_JOB_ID=$job" /proc/[0-9]*/environ 2>/dev/null)
  [[ -n $task ]] || fail "no task of job $job's step 1 on n2"
  stepd=$(awk '{print $4}' "/proc/$task/stat")
  [[ $(tr '\0' ' ' <"/proc/$stepd/cmdline") == "slurmstepd: [$job.1]"* ]] ||
    fail "the parent of n2's task is not the step daemon: $(tr '\0' ' ' <"/proc/$stepd/cmdline")"
  started=$(date +%s)
  kill -9 "$stepd"
  ended_clean() {
    left=$(job_containers "$1")
    processes=$(job_processes "$1")
    [[ -z $left && -z $processes && $(job_state "$1") == FAILED ]]
  }
  wait_until 60 ended_clean "$job" ||
    fail "60 s after n2's step daemon died: state $(job_state "$job"), containers [$left], processes [$processes]; output: $("$launcher" logs "$job" | grep -v '^step ')"
  echo "PASS: job $job FAILED with nothing left $(($(date +%s) - started)) s after n2's step daemon was killed"
  "$launcher" logs "$job" | grep '^launcher: ' || true
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
  expect_failure 2 "command line (--gpus 2): a Slurm job's GPUs come from its allocation on each node, not from \"gpus\" or --gpus: use --gpus-per-node N" \
    "${submit[@]}" --nodes 1 --gpus 2 -- ddp_train.py
  expect_failure 2 "command line (-- python3 -u): torchrun runs the script with its own Python" \
    "${submit[@]}" --nodes 1 -- python3 -u ddp_train.py
  expect_failure 2 "runs the jupyter service, which is not a batch job" \
    "$launcher" submit --profile jupyter --image "$image" --nodes 1 -- ddp_train.py
  expect_failure 2 "command line (--partition nosuch): Slurm has no such partition" \
    "${submit[@]}" --nodes 1 --partition nosuch -- ddp_train.py
  expect_failure 1 "Slurm refused the job: sbatch failed: invalid partition specified: nosuch" \
    "${submit[@]}" --nodes 1 --partition nosuch --time 5 -- ddp_train.py
  expect_failure 2 "partition open sets no time limit (DefaultTime and MaxTime are unlimited)" \
    "${submit[@]}" --nodes 1 --partition open -- ddp_train.py
  local script
  script=$("${submit[@]}" --nodes 1 --dry-run -- ddp_train.py)
  grep -qx '#SBATCH --time=00:20:00' <<<"$script" || fail "the dry run sets no time limit from the partition: $script"
  grep -qx "# Time limit: 00:20:00, from partition debug's DefaultTime." <<<"$script" ||
    fail "the dry run does not say where its time limit came from: $script"
  # A job the launcher did not submit is cancelled only with --force.
  local foreign said
  foreign=$(sbatch --parsable --output=/dev/null --wrap 'sleep 300')
  foreign=${foreign%%;*}
  jobs_submitted+=("$foreign")
  expect_failure 2 "job $foreign was not submitted by \`launcher submit\`" "$launcher" cancel "$foreign"
  said=$("$launcher" cancel --force "$foreign")
  [[ $said == "job $foreign: CANCELLED" ]] || fail "launcher cancel --force said: $said"
  # A submit host without Slurm's clients (or Docker: the image is pinned by a repo digest here).
  local pinned
  pinned="$image@sha256:$(printf '%064d' 0)"
  expect_failure 3 "sbatch is not on PATH" env PATH="$work/empty" "$launcher" submit --image "$pinned" --nodes 1 --time 5 -- ddp_train.py
  expect_failure 3 "scontrol is not on PATH" env PATH="$work/empty" "$launcher" submit --image "$pinned" --nodes 1 -- ddp_train.py
  # A team file that requires pinned images refuses the unpinned one.
  printf '{"version": 1, "require_pinned_image": true, "profiles": {}}\n' >"$work/launcher.json"
  expect_failure 2 "require_pinned_image is true" "${submit[@]}" --nodes 1 -- ddp_train.py
  rm "$work/launcher.json"
  # The launcher's own defaults that pyxis cannot carry (pids limit, stack size) are said, not
  # refused; a field the profile sets is refused naming it, and --lossy submits without it, saying so.
  printf '{"version": 1, "profiles": {"pyxis": {"extends": "shell", "slurm": {"runtime": "pyxis"}}, %s, %s}}\n' \
    '"pyxis-limited": {"extends": "pyxis", "resources": {"pids_limit": 4096}}' \
    '"apptainer": {"extends": "shell", "slurm": {"runtime": "apptainer", "sif_cache": "sif"}}' >"$work/launcher.json"
  local noted
  noted=$("$launcher" submit --profile pyxis --image "$pinned" --nodes 2 --time 5 --dry-run -- ddp_train.py 2>&1 >/dev/null) ||
    fail "submit with the built-in limits under pyxis failed: $noted"
  [[ $noted == *'Slurm runtime pyxis does not enforce the launcher'"'"'s default "resources/pids_limit"'* &&
    $noted == *'Slurm runtime pyxis does not enforce the launcher'"'"'s default "ulimits/stack"'* ]] ||
    fail "submit said nothing of the defaults pyxis drops: $noted"
  expect_failure 2 'Slurm runtime pyxis cannot express the plan'"'"'s "resources/pids_limit"; --lossy submits without it' \
    "$launcher" submit --profile pyxis-limited --image "$pinned" --nodes 2 --time 5 --dry-run -- ddp_train.py
  local lossy
  lossy=$("$launcher" submit --profile pyxis-limited --image "$pinned" --nodes 2 --time 5 --dry-run --lossy -- ddp_train.py 2>&1 >/dev/null)
  [[ $lossy == *'left out of the job: the plan'"'"'s "resources/pids_limit" (--lossy)'* ]] || fail "submit --lossy said: $lossy"
  # The apptainer runtime builds the SIF here, before sbatch: without apptainer, one line with the fix.
  if ! command -v apptainer >/dev/null; then
    expect_failure 3 "apptainer is not on PATH: this host builds the job's image $work/sif/" \
      "$launcher" submit --profile apptainer --image "$pinned" --nodes 2 --time 5 -- ddp_train.py
  fi
  rm "$work/launcher.json"
}

# The --rdzv_endpoint values of the job's torchrun command lines on this host (docker run's and
# torchrun's own), one line each.
rendezvous_endpoint() {
  local pid words
  for pid in /proc/[0-9]*; do
    words=$(tr '\0' '\n' 2>/dev/null <"$pid/cmdline") || continue
    grep -qx -- "--rdzv_id=$1" <<<"$words" || continue
    sed -n 's/^--rdzv_endpoint=//p' <<<"$words"
  done | sort -u
}

# Attack: another local user (nobody) listens first on the ports the next job ids predict (40000 +
# id % 10000 until issue 25), so that node 0's store cannot bind and the other nodes would meet at
# the squatter's. The job draws its port at random: it meets at its own store, at n1's NodeAddr,
# on a port nothing answered on, and completes.
test_rendezvous() {
  local probe next endpoint port listener
  probe=$(sbatch --parsable --output=/dev/null --wrap true)
  probe=${probe%%;*}
  jobs_submitted+=("$probe")
  local predicted=()
  for next in $((probe + 1)) $((probe + 2)) $((probe + 3)); do predicted+=($((40000 + next % 10000))); done
  setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import errno, socket, sys, time
held = []
for port in sys.argv[1:]:
    listener = socket.socket(socket.AF_INET6)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        listener.bind(("::", int(port)))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        continue  # another program holds it already: the same attack
    listener.listen()
    held.append(listener)
print("listening", flush=True)
time.sleep(900)' "${predicted[@]}" >"$work/squatter.out" 2>&1 &
  squatter=$!
  wait_until 30 grep -q listening "$work/squatter.out" || true
  grep -q listening "$work/squatter.out" || fail "the squatter could not listen: $(cat "$work/squatter.out")"
  echo "another user listens on ${predicted[*]}"

  submit_ddp --steps 300
  echo "job $job"
  wait_for_containers "$job" 120
  endpoint_known() { endpoint=$(rendezvous_endpoint "$1") && [[ -n $endpoint ]]; }
  wait_until 30 endpoint_known "$job" || true # an empty endpoint fails below
  echo "torchrun's rendezvous endpoint: $endpoint"
  [[ $endpoint =~ ^127\.0\.0\.1:([0-9]+)$ ]] || fail "expected one endpoint at n1's NodeAddr 127.0.0.1, found: [$endpoint]"
  port=${BASH_REMATCH[1]}
  [[ " ${predicted[*]} " != *" $port "* ]] || fail "the job's rendezvous port $port is one predicted from its id"
  ((port >= 20000 && port < 32768)) || fail "rendezvous port $port is outside 20000-32767"
  store_listens() { listener=$(ss -Hltn "sport = :$1" | awk '{print $4}') && [[ -n $listener ]]; }
  wait_until 30 store_listens "$port" || true # checked below, with the job's state
  # torch's TCPStore has no bind address: it listens on every interface of the first node.
  echo "the c10d store listens on: ${listener:-nothing}"
  [[ -n $listener ]] || [[ $(job_state "$job") != RUNNING ]] || fail "nothing listens on rendezvous port $port"

  final=$(wait_for_end "$job" 300)
  output=$("$launcher" logs "$job")
  [[ $final == COMPLETED ]] || fail "job $job ended $final beside the squatter: $output"
  grep -q "world size 4" <<<"$output" || fail "no 'world size 4' in the job's output: $output"
  echo "PASS: the job met on port $port at 127.0.0.1 and completed; the predicted ports were another user's"
}

case $test_name in
  ddp) test_ddp ;;
  rendezvous) test_rendezvous ;;
  cancel) test_cancel ;;
  digest) test_digest ;;
  bad-input) test_bad_input ;;
  env-values) test_env_values ;;
  dead-node) test_dead_node ;;
  *) fail "unknown test $test_name" ;;
esac
