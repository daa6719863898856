#!/usr/bin/env bash
# The repository's own habits as checks: every C++ file as .clang-format formats it, and
# .clang-tidy's checks over the launcher's and launcher-init's sources (read from the build's
# compile_commands.json). Usage: tools/lint.sh BUILD_DIR [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: tools/lint.sh BUILD_DIR [JOBS]}
jobs=${2:-$(nproc)}

# CTest lists are ';'-separated: a test name holding one becomes two tests, each with a filter
# that matches nothing useful.
if git grep -n -E '(TEST_CASE|SECTION)\("[^"]*;' -- tests runtime; then
  echo "test names above hold ';', which CTest splits: reword them" >&2
  exit 1
fi
# CTest passes the name to the Catch binary as its filter: one starting with '-' is read as an option.
if git grep -n -E 'TEST_CASE\("-' -- tests runtime kernels; then
  echo "test names above start with '-', which the test binary reads as an option: reword them" >&2
  exit 1
fi

mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cu' '*.cuh')
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"

[[ -f "$build/compile_commands.json" ]] || { echo "no $build/compile_commands.json: configure the build first (make)" >&2; exit 2; }
mapfile -t checked < <(python3 - "$build/compile_commands.json" "$PWD" <<'PY'
import json, os, sys
root = sys.argv[2]
for entry in json.load(open(sys.argv[1])):
    path = os.path.relpath(entry["file"], root)
    if path.startswith(("launcher/src/", "runtime/launcher-init/src/")):
        print(path)
PY
)
echo "clang-tidy: ${#checked[@]} files, $jobs at a time"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
printf '%s\n' "${checked[@]}" | sort -u | xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet >"$log" 2>&1 || status=$?
# Only the findings: not clang-tidy's counts of what it suppressed outside the checked headers.
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' "$log" || true
exit "$status"
