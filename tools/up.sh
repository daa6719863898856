#!/usr/bin/env bash
# `make up`: on a fresh machine, ends with a Jupyter URL that works. Builds the real image (the
# hash-locked torch + CUDA wheels from PyPI and JupyterLab 4; the CUDA wheels also run without a
# GPU) on every host, records it as the user's default image (`launcher default-image`: the
# built-in profiles then run it without --image), and runs `launcher up --profile jupyter` on it.
# The offline flavor (Debian's PyTorch, CPU, the classic notebook) is the air-gapped fallback:
# built when pip's index does not answer, or when FLAVOR=offline asks for it; FLAVOR=real builds
# the real image without asking the index (a wheel cache copied to an air-gapped host serves it).
# Usage: [FLAVOR=real|offline] tools/up.sh LAUNCHER BUILD-OPTIONS-OF-THE-REAL-IMAGE...
# (the Makefile passes its REAL_IMAGE_ROW)
set -euo pipefail

launcher=${1:-build/launcher}
build_docker=$(tools/build-docker.sh)
tools/ensure-docker.sh

real_image_row=("${@:2}")
if [[ ${#real_image_row[@]} -eq 0 ]]; then
  echo "usage: [FLAVOR=real|offline] $0 LAUNCHER BUILD-OPTIONS-OF-THE-REAL-IMAGE... (make up passes them)" >&2
  exit 2
fi
index_timeout=5

# The index pip downloads the wheels from: PIP_INDEX_URL, else pip's configuration, else PyPI.
pip_index() {
  local settings key url
  settings=$(python3 -m pip config list 2>/dev/null || true)
  for key in ':env:' download global; do
    url=$(sed -n "s/^$key\.index-url='\(.*\)'\$/\1/p" <<<"$settings" | head -n 1)
    [[ -n $url ]] && { echo "$url"; return; }
  done
  echo "https://pypi.org/simple/"
}

# Whether the index answers HTTP within the timeout (name lookup included). HEAD: PyPI's root
# page is tens of megabytes.
index_answers() {
  timeout $((index_timeout + 1)) python3 - "$1" "$index_timeout" <<'EOF_PYTHON' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=float(sys.argv[2]))
except urllib.error.HTTPError as error:
    sys.exit(0 if error.code < 500 else 1)  # it answered; a mirror may refuse HEAD
except Exception:
    sys.exit(1)
EOF_PYTHON
}

flavor=${FLAVOR:-}
case $flavor in
  real) echo "make up: the real image, as FLAVOR=real asks (its wheels come from the wheel cache or pip's index)" ;;
  offline) echo "make up: the air-gapped fallback (Debian's PyTorch, CPU, classic notebook), as FLAVOR=offline asks" ;;
  "")
    index=$(pip_index)
    if index_answers "$index"; then
      flavor=real
      echo "make up: the real image (torch + CUDA wheels from $index, JupyterLab 4); FLAVOR=offline builds the air-gapped fallback"
    else
      flavor=offline
      echo "make up: $index did not answer within $index_timeout s: building the air-gapped fallback (Debian's PyTorch, CPU, classic notebook) instead of the real image; FLAVOR=real insists on it"
    fi
    ;;
  *)
    echo "make up: FLAVOR=$flavor is not a flavor: real, offline, or unset (real, offline when pip's index does not answer)" >&2
    exit 2
    ;;
esac

images/make-base.sh
if [[ $flavor == real ]]; then
  result=$("$launcher" --docker "$build_docker" build "${real_image_row[@]}" --json)
else
  result=$("$launcher" --docker "$build_docker" build --offline --cuda cpu --json)
fi
tag=$(sed -n 's/.*"tag":"\([^"]*\)".*/\1/p' <<<"$result")
"$launcher" default-image "$tag"
exec "$launcher" up --profile jupyter --image "$tag"
