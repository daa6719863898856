#!/usr/bin/env bash
# CTest `support.readonly-root`: readonly-root.sh makes everything read-only but the tree it is
# given, passes the command's status on, and refuses a tree that is not a temporary directory.
# Every path it writes or tries to write is in a directory this script made with mktemp -d.
set -euo pipefail

script=$(dirname "$(realpath -e -- "$0")")/readonly-root.sh
tree=$(mktemp -d)
outside=$(mktemp -d)
trap 'rm -rf -- "$tree" "$outside"' EXIT

fail() {
  printf 'test-readonly-root.sh: FAIL: %s\n' "$1" >&2
  exit 1
}

if ! unshare --mount --propagation private true 2>/dev/null &&
  ! unshare --mount --map-root-user --propagation private true 2>/dev/null; then
  echo "test-readonly-root.sh: no mount namespaces here; skipped" >&2
  # CI (LAUNCHER_E2E_REQUIRED=1) turns the skip into a failure.
  [[ ${LAUNCHER_E2E_REQUIRED:-} == 1 ]] && exit 1
  exit 77
fi

# Inside: the tree is writable, a sibling temporary directory is not, /, /dev, /proc, /run, /sys
# are mounted read-only, and the Docker socket (when there is one) still accepts a connection.
inside=$(
  cat <<'EOF'
set -u
tree=$1 outside=$2
touch "$tree/inside" || { echo "cannot write inside the tree"; exit 10; }
if touch "$outside/escaped" 2>/dev/null; then echo "wrote outside the tree"; exit 11; fi
for path in / /dev /proc /run /sys; do
  options=$(findmnt -n -o OPTIONS --target "$path")
  case ",$options," in *,ro,*) ;; *) echo "$path is mounted $options"; exit 12 ;; esac
done
if [ -S /var/run/docker.sock ]; then
  python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect("/var/run/docker.sock")' ||
    { echo "the Docker socket does not answer"; exit 13; }
fi
exit 7
EOF
)
set +e
output=$("$script" "$tree" -- bash -c "$inside" inside "$tree" "$outside" 2>&1)
status=$?
set -e
[[ $status == 7 ]] || fail "expected the command's status 7, got $status: $output"
[[ -f "$tree/inside" ]] || fail "the file written inside the tree is missing"
[[ ! -e "$outside/escaped" ]] || fail "a file was written outside the tree"

# Refusals: not under TMPDIR, TMPDIR itself, no "--", a missing tree. None runs the command.
expect_refusal() { # WHAT EXPECTED-MESSAGE ARGS...
  local what=$1 expected=$2
  shift 2
  set +e
  output=$("$@" 2>&1)
  status=$?
  set -e
  [[ $status == 2 ]] || fail "$what: expected status 2, got $status: $output"
  [[ "$output" == *"$expected"* ]] || fail "$what: expected '$expected' in: $output"
  [[ ! -e "$tree/ran" ]] || fail "$what: the command ran"
}
mkdir "$tree/temp"
expect_refusal "a tree outside TMPDIR" "must be a directory made by mktemp -d" \
  env TMPDIR="$tree/temp" "$script" "$outside" -- touch "$tree/ran"
expect_refusal "TMPDIR itself" "must be a directory made by mktemp -d" \
  env TMPDIR="$tree/temp" "$script" "$tree/temp" -- touch "$tree/ran"
expect_refusal "no --" "usage: readonly-root.sh TREE -- CMD..." "$script" "$tree" touch "$tree/ran"
expect_refusal "a missing tree" "TREE must be an existing directory" "$script" "$tree/missing" -- touch "$tree/ran"
echo "test-readonly-root.sh: ok"
