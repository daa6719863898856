# shellcheck shell=bash
# Sourced by the shell tests: how long a test waits for something that must happen (a job to
# end, a container to start, a file to appear) on a machine that other work loads too. The same
# rule as tests/support/patience.hpp, for the C++ tests.

# The load factor in percent: the 1-minute load average per online CPU, at least 1x, at most 8x
# (beyond that a wait that still fails is a hang, not a slow machine).
load_factor_percent() {
  awk -v cpus="$(nproc)" '{ f = $1 / cpus; if (f < 1) f = 1; if (f > 8) f = 8; printf "%d\n", f * 100 }' /proc/loadavg
}

# wait_until SECONDS COMMAND [ARGUMENT...]: runs COMMAND every 0.2 s until it succeeds (status 0)
# or SECONDS scaled by the load have passed (status 1). The load is read again at every try, so
# load that arrives during the wait lengthens it.
wait_until() {
  local bound=$1 start=$SECONDS
  shift
  until "$@"; do
    (((SECONDS - start) * 100 < bound * $(load_factor_percent))) || return 1
    sleep 0.2
  done
}
