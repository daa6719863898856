#!/usr/bin/env bash
# CTest `e2e.hostile-env-names LAUNCHER`: the built launcher, run under readonly-root.sh (only a
# temporary tree is writable), given the hostile environment names of issue 24 by `down --purge
# --yes`, `secret rotate` and `secret show`. Every name here either fails the name rule as text or
# resolves inside the temporary tree, whose depth keeps even "./../../x" inside it; the victims
# planted beside the state directory must survive. No real path is ever passed.
set -euo pipefail

launcher=$(realpath -e -- "$1")
support=$(dirname "$(realpath -e -- "$0")")
tree=$(mktemp -d)
trap 'rm -rf -- "$tree"' EXIT
if ! "$support/readonly-root.sh" "$tree" -- true 2>/dev/null; then
  echo "test-hostile-env-names.sh: no read-only mount namespace here; skipped" >&2
  # CI (LAUNCHER_E2E_REQUIRED=1) turns the skip into a failure.
  [[ ${LAUNCHER_E2E_REQUIRED:-} == 1 ]] && exit 1
  exit 77
fi

fail() {
  printf 'test-hostile-env-names.sh: FAIL: %s\n' "$1" >&2
  exit 1
}

# tree/a/b/c is home and project; its state directory is tree/a/b/c/state.
home=$tree/a/b/c
state=$home/state
mkdir -p "$home/project" "$home/config" "$state/launcher/envs" "$tree/a/b/victim-dir"
echo keep >"$tree/a/b/victim-dir/file"
echo keep >"$state/x"                     # where envs/./../../x lands
echo keep >"$state/launcher/victim"       # beside envs/, where ".." lands
mkdir -p "$state/launcher/envs/other-env/secrets"
echo keep >"$state/launcher/envs/other-env/secrets/jupyter_token"
# A fake Docker that records its calls and knows no container.
cat >"$tree/docker" <<EOF
#!/bin/sh
echo "\$*" >>"$tree/docker-calls"
exit 0
EOF
chmod +x "$tree/docker"

# run EXPECTED-STATUS EXPECTED-MESSAGE ARGS...: the launcher, under readonly-root.sh, stdin closed.
run() {
  local expected_status=$1 expected_message=$2
  shift 2
  set +e
  output=$(cd "$home/project" && HOME=$home XDG_STATE_HOME=$state XDG_CONFIG_HOME=$home/config \
    LAUNCHER_DOCKER=$tree/docker "$support/readonly-root.sh" "$tree" -- "$launcher" "$@" 2>&1 </dev/null)
  status=$?
  set -e
  [[ $status == "$expected_status" ]] || fail "launcher $*: expected status $expected_status, got $status: $output"
  [[ "$output" == *"$expected_message"* ]] || fail "launcher $*: expected '$expected_message' in: $output"
}

victims_survive() {
  [[ "$(cat "$tree/a/b/victim-dir/file")" == keep ]] || fail "victim-dir/file was changed: $1"
  [[ "$(cat "$state/x")" == keep ]] || fail "state/x was changed: $1"
  [[ "$(cat "$state/launcher/victim")" == keep ]] || fail "launcher/victim was changed: $1"
  [[ "$(cat "$state/launcher/envs/other-env/secrets/jupyter_token")" == keep ]] || fail "other-env was changed: $1"
}

rule="an environment name is a letter or digit"
for name in '' . .. ./.. ./../../x a/b ../victim-dir '-rf'; do
  for command in "down --purge --yes" "secret rotate" "secret show" "secret rotate --host-key"; do
    # shellcheck disable=SC2086 # the command's words split on purpose
    run 2 "$rule" $command -- "$name"
    victims_survive "$command '$name'"
  done
done
[[ ! -e "$tree/docker-calls" ]] || fail "the engine was called for a refused name: $(cat "$tree/docker-calls")"

# A valid name whose directory a symbolic link leads out of the state directory.
ln -s "$tree/a/b/victim-dir" "$state/launcher/envs/linked-env"
run 1 "outside the state directory" down --purge --yes linked-env
run 1 "outside the state directory" secret rotate linked-env
victims_survive "linked-env"
[[ ! -e "$tree/docker-calls" ]] || fail "the engine was called for an env outside the state directory"

# --purge without --yes on a closed stdin: refused before the engine is asked anything.
run 2 "confirm with --yes" down --purge ok-env
[[ ! -e "$tree/docker-calls" ]] || fail "down --purge without --yes called the engine: $(cat "$tree/docker-calls")"

# --purge --yes deletes the launcher's files, keeps (and names) what it did not make, and the lock.
env_dir=$state/launcher/envs/ok-env
mkdir -p "$env_dir/secrets"
for file in secrets/jupyter_token secrets/jupyter_password_hash jupyter_password known_hosts plan.json; do
  echo old >"$env_dir/$file"
done
echo mine >"$env_dir/notes.txt"
run 0 "kept what the launcher did not make: $env_dir (notes.txt)" down --purge --yes ok-env
[[ "$(ls -A "$env_dir")" == notes.txt ]] || fail "purge left: $(ls -A "$env_dir")"
[[ ! -e "$state/launcher/envs/.ok-env.lock" ]] || fail "purge kept the lock file"
rm "$env_dir/notes.txt"
run 0 "deleted $env_dir" down --purge --yes ok-env
[[ ! -e "$env_dir" ]] || fail "purge kept the empty env directory"
victims_survive "ok-env"

# Six parallel `secret rotate --host-key` of one env, three rounds: each password still matches its
# hash, and the host key its .pub and known_hosts line.
rotated=$state/launcher/envs/rot-env
mkdir -p "$rotated/secrets"
echo placeholder >"$rotated/secrets/jupyter_token"
echo placeholder >"$rotated/secrets/user_password_hash"
echo placeholder >"$rotated/secrets/ssh_host_ed25519_key"
# shellcheck disable=SC2016 # expanded by the inner shell
parallel='for round in 1 2 3; do
  pids=()
  for i in 1 2 3 4 5 6; do "$0" secret rotate --host-key rot-env >/dev/null & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || exit 1; done
done'
(cd "$home/project" && HOME=$home XDG_STATE_HOME=$state XDG_CONFIG_HOME=$home/config LAUNCHER_DOCKER=$tree/docker \
  "$support/readonly-root.sh" "$tree" -- bash -c "$parallel" "$launcher") || fail "a parallel rotate failed"
public=$(ssh-keygen -y -f "$rotated/secrets/ssh_host_ed25519_key" | cut -d' ' -f1-2)
[[ "$(cut -d' ' -f1-2 "$rotated/secrets/ssh_host_ed25519_key.pub")" == "$public" ]] || fail "the .pub is not the key's"
[[ "$(cut -d' ' -f2-3 "$rotated/known_hosts")" == "$public" ]] || fail "known_hosts is not the key's"
python3 -W ignore - "$rotated/user_password" "$rotated/secrets/user_password_hash" <<'PY' || fail "the password does not match its hash"
import crypt, sys
password, stored = (open(path).read() for path in sys.argv[1:3])
sys.exit(0 if crypt.crypt(password, stored) == stored else 1)
PY
leftovers=$(find "$rotated" -name '.*')
[[ -z "$leftovers" ]] || fail "temporary files were left: $leftovers"

# HOME and XDG_STATE_HOME must be absolute; HOME must exist (and is never created).
set +e
output=$(cd "$home/project" && HOME=relative/home XDG_STATE_HOME=$state "$launcher" secret show ok-env 2>&1)
status=$?
set -e
[[ $status == 2 && "$output" == *'HOME="relative/home" is not an absolute path'* ]] || fail "relative HOME: $status $output"
set +e
output=$(cd "$home/project" && HOME=$tree/missing-home XDG_STATE_HOME=$state "$launcher" secret show ok-env 2>&1)
status=$?
set -e
[[ $status == 2 && "$output" == *"is not an existing directory"* ]] || fail "missing HOME: $status $output"
[[ ! -e "$tree/missing-home" ]] || fail "a missing HOME was created"
set +e
output=$(cd "$home/project" && HOME=$home XDG_STATE_HOME=rel/state "$launcher" secret show ok-env 2>&1)
status=$?
set -e
[[ $status == 2 && "$output" == *'XDG_STATE_HOME="rel/state" is not an absolute path'* ]] ||
  fail "relative XDG_STATE_HOME: $status $output"
echo "test-hostile-env-names.sh: ok"
