#!/usr/bin/env bash
# CTest `tools.wait-apt-lock`: tools/wait-apt-lock.sh on lock files of a temporary directory held
# by a process of this test (an fcntl lock, as apt and dpkg take theirs): it returns at once when
# no one holds them, names the holder once and returns when it lets go, and fails naming it past
# its limit. The host's apt and dpkg locks are never touched.
set -euo pipefail

wait_lock=$(dirname "$(realpath -e -- "$0")")/../../tools/wait-apt-lock.sh
tree=$(mktemp -d)
holder_pid=""
cleanup() {
  [[ -z $holder_pid ]] || kill "$holder_pid" 2>/dev/null || true
  rm -rf -- "$tree"
}
trap cleanup EXIT

fail() {
  printf 'test-wait-apt-lock.sh: FAIL: %s\n' "$1" >&2
  exit 1
}

# hold LOCK SECONDS: a python3 process takes an fcntl write lock on LOCK for SECONDS; returns
# once the lock is taken, with the process's PID in holder_pid.
hold() {
  coproc python3 -c 'import fcntl, os, sys, time
lock = open(sys.argv[1], "a")
fcntl.lockf(lock, fcntl.LOCK_EX)
print(os.getpid(), flush=True)
time.sleep(float(sys.argv[2]))' "$1" "$2"
  read -r holder_pid <&"${COPROC[0]}"
}

free=$tree/lock-frontend
held=$tree/lists-lock
touch "$free" "$held"

# Nothing held (and a lock file that does not exist): no word, no wait.
start=$SECONDS
output=$("$wait_lock" -t 30 "$free" "$tree/absent" 2>&1) || fail "exit $? with no lock held: $output"
[[ -z $output ]] || fail "it spoke with no lock held: $output"
((SECONDS - start <= 1)) || fail "it waited $((SECONDS - start)) s with no lock held"

# Held for 3 s: one line naming python3 and its PID, then it returns once the lock is free.
hold "$held" 3
start=$SECONDS
output=$("$wait_lock" -t 30 "$free" "$held" 2>&1) || fail "exit $? for a lock let go after 3 s: $output"
expected="apt's lock $held is held by python3 (PID $holder_pid): waiting for it, at most 30 s"
[[ $output == "$expected" ]] || fail "expected '$expected', got '$output'"
((SECONDS - start >= 1)) || fail "it returned while the lock was held"
wait "$holder_pid" 2>/dev/null || true

# Held past the limit: it fails, naming the holder.
hold "$held" 30
status=0
output=$("$wait_lock" -t 1 "$held" 2>&1) || status=$?
[[ $status == 1 ]] || fail "expected exit 1 past the limit, got $status: $output"
expected="apt's lock $held is still held by python3 (PID $holder_pid) after 1 s: let it finish, then run this again"
[[ $output == *"$expected" ]] || fail "expected '$expected' at the end of '$output'"

# A limit that is no number is a usage error.
status=0
"$wait_lock" -t soon "$held" 2>/dev/null || status=$?
[[ $status == 2 ]] || fail "expected exit 2 for -t soon, got $status"
echo "test-wait-apt-lock.sh: ok"
