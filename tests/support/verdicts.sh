# shellcheck shell=bash
# Sourced by the shell tests: how a test says it cannot run or that it failed. A skip is ctest's
# SKIP_RETURN_CODE 77, and a failure where every e2e test must run (LAUNCHER_E2E_REQUIRED=1, as CI
# sets it), so a machine that cannot run a test never passes it silently.

skip() {
  echo "SKIP: $*"
  [[ ${LAUNCHER_E2E_REQUIRED:-} == 1 ]] && exit 1
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# check DESCRIPTION COMMAND...: runs the command and says ok or FAIL, counting failures in
# $failures (the test sets it to 0), for tests that report every check before they end.
check() {
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
