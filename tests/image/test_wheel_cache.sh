#!/usr/bin/env bash
# tools/wheel-cache.py, without the network: pip's index is replaced by a folder of wheels that the
# host's wheel cache already holds (`make real-image` filled it), so CI downloads nothing twice.
#   1. a corrupted wheel in the cache is refused, naming the package and both hashes;
#   2. a download killed midway leaves no half file under sha256/, and the next run completes.
set -euo pipefail
# 77 is CTest's "skipped"; under LAUNCHER_E2E_REQUIRED=1 (CI) a skip is a failure.
repository="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=/dev/null # tests/support/patience.sh, checked on its own
source "$repository/tests/support/patience.sh"
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$repository/tests/support/verdicts.sh"
host_cache="${XDG_CACHE_HOME:-$HOME/.cache}/launcher/wheels"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A lock of two wheels from the torch lock: a small one (the corruption case) and torch itself
# (large enough to be killed while pip copies it).
lock="$repository/images/locks/torch-2.7.1-cu126-cp311.txt"
python3 - "$lock" "$work/lock.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
entries = {m.group(1): m.group(0) for m in re.finditer(r"^([a-z0-9-]+)==\S+\s+--hash=sha256:[0-9a-f]{64}", text, re.M)}
open(sys.argv[2], "w").write(entries["mpmath"] + "\n" + entries["torch"] + "\n")
PY
mkdir -p "$work/index"
while read -r digest; do
  source_wheel="$(ls "$host_cache/sha256/$digest/"*.whl 2>/dev/null || true)"
  if [ -z "$source_wheel" ]; then
    skip "the host wheel cache lacks $digest (run make real-image first)"
  fi
  ln "$source_wheel" "$work/index/" 2>/dev/null || cp "$source_wheel" "$work/index/"
done < <(grep -o 'sha256:[0-9a-f]*' "$work/lock.txt" | cut -d: -f2)
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/index"
fill() { python3 "$repository/tools/wheel-cache.py" --cache "$work/cache" --wheelhouse "$work/wheelhouse" --python 3.11 "torch=$work/lock.txt"; }

# 2. killed midway: no half file where a build looks, and the next run completes.
downloading() { compgen -G "$work/cache/.partial-*/tmp/*/*" >/dev/null && grep -q "wheel cache: downloading" "$work/killed.log"; }
fill >"$work/killed.log" 2>&1 &
filler=$!
wait_until 60 downloading || true # a kill before the download fails below, naming it
sleep 1
pkill -KILL -P "$filler" || true
kill -KILL "$filler" 2>/dev/null || true
wait "$filler" 2>/dev/null || true
grep -q "wheel cache: downloading" "$work/killed.log" || { cat "$work/killed.log"; echo "FAIL: the kill came before the download"; exit 1; }
for wheel in "$work"/cache/sha256/*/*.whl; do
  [ -e "$wheel" ] || continue
  expected="$(basename "$(dirname "$wheel")")"
  actual="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$expected" != "$actual" ]; then echo "FAIL: a half file after the kill: $wheel"; exit 1; fi
done
fill 2>"$work/resumed.log" || { cat "$work/resumed.log"; echo "FAIL: the run after the kill did not complete"; exit 1; }
if compgen -G "$work/cache/.partial-*" >/dev/null; then echo "FAIL: the killed run's partial folder is left"; exit 1; fi
[ "$(find "$work/wheelhouse/torch" -name '*.whl' | wc -l)" = 2 ] || { echo "FAIL: the wheelhouse lacks wheels"; exit 1; }
echo "ok: a killed download left no half file and the next run completed"

# 1. a corrupted wheel is refused with both hashes and the package named.
small="$(ls "$work"/cache/sha256/*/mpmath-*.whl)"
wanted="$(basename "$(dirname "$small")")"
chmod u+w "$small" 2>/dev/null || true
rm -f "$small" && echo "not a wheel" >"$small"
actual="$(sha256sum "$small" | cut -d' ' -f1)"
if fill 2>"$work/corrupt.log"; then echo "FAIL: a corrupted wheel was accepted"; exit 1; fi
grep -F "mpmath==1.3.0" "$work/corrupt.log" | grep -F "has sha256 $actual" | grep -qF "the lock wants $wanted" ||
  { cat "$work/corrupt.log"; echo "FAIL: the refusal does not name the package and both hashes"; exit 1; }
echo "ok: a corrupted wheel is refused: $(grep -F error: "$work/corrupt.log")"
