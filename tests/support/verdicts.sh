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
