#!/usr/bin/env bash
# The real image (`make real-image`: torch 2.7.1 + CUDA 12.6 from the hash-locked PyPI wheels),
# checked from outside without a GPU: labels are what torch reported, no wheel or pip cache in
# any layer, no secret in `docker history`, no CUDA compiler in the runtime variant, gpu-check
# (built against the wheel's CUDA LibTorch) run by `doctor --gpu`, and Jupyter
# Server 2 with JupyterLab behind `launcher up`: 403 without or with a wrong token, 200 with the
# right one by header, a foreign Host refused, Chromium on the login URL shows JupyterLab with no
# news or update prompt (and a screenshot of it), and JupyterLab's server reaches out for neither.
#   tests/image/test_real_image.sh BUILD_DIR
set -euo pipefail
# 77 is CTest's "skipped"; under LAUNCHER_E2E_REQUIRED=1 (CI) a skip is a failure.
build="$(cd "${1:?usage: test_real_image.sh BUILD_DIR}" && pwd)"
# shellcheck source=/dev/null # tests/support/patience.sh, checked on its own
source "$(dirname "$0")/../support/patience.sh"
# shellcheck source=/dev/null # tests/support/verdicts.sh, checked on its own
source "$(dirname "$0")/../support/verdicts.sh"
docker="${LAUNCHER_DOCKER:-docker}"
if [ ! -s "$build/real-image-tag" ]; then
  skip "no $build/real-image-tag (make real-image builds the image)"
fi
image="$(cat "$build/real-image-tag")"
failures=0
label() { "$docker" image inspect --format "{{index .Config.Labels \"io.launcher.$1\"}}" "$image"; }
in_image() { "$docker" run --rm --entrypoint sh "$image" -c "$1"; }

check "label torch is 2.7.1" test "$(label torch)" = 2.7.1
check "label cuda is 12.6" test "$(label cuda)" = 12.6
check "label cudnn is 9.5.1" test "$(label cudnn)" = 9.5.1
check "label nccl is 2.26.2" test "$(label nccl)" = 2.26.2
check "label cuda-archs has sm_90" grep -q 'sm_90' <<<"$(label cuda-archs)"
check "label min-driver is 560.35.05" test "$(label min-driver)" = 560.35.05
check "label nvcc is none (no CUDA toolkit)" test "$(label nvcc)" = none
environment="$("$docker" image inspect --format '{{join .Config.Env "\n"}}' "$image")"
check "NVIDIA_VISIBLE_DEVICES is set" grep -qx 'NVIDIA_VISIBLE_DEVICES=all' <<<"$environment"
check "NVIDIA_DRIVER_CAPABILITIES is set" grep -qx 'NVIDIA_DRIVER_CAPABILITIES=compute,utility' <<<"$environment"
check "torch reports 2.7.1+cu126 and CUDA 12.6 in the image" \
  test "$(in_image "python3 -c 'import torch; print(torch.__version__, torch.version.cuda)'")" = "2.7.1+cu126 12.6"
check "the runtime variant has no CUDA compiler" in_image '! command -v nvcc && ! command -v ptxas && ! python3 -c "import nvidia.cuda_nvcc" 2>/dev/null'
check "JupyterLab 4 on Jupyter Server 2" grep -q '^4\.[0-9]*\.[0-9]* 2\.' <<<"$(in_image "python3 -c 'import jupyterlab, jupyter_server; print(jupyterlab.__version__, jupyter_server.__version__)'")"

history="$("$docker" history --no-trunc --format '{{.CreatedBy}}' "$image")"
no_secret() { ! grep -Eiq 'PRIVATE KEY|JUPYTER_TOKEN=|password=|token=[0-9a-f]{8}' <<<"$history"; }
check "no secret in docker history" no_secret

# Every layer, not only the final file system: a wheel deleted later would still be shipped.
no_wheel_in_layers() {
  "$docker" save "$image" | python3 -c '
import sys, tarfile
outer = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
bad = []
for member in outer:
    if not member.name.endswith("layer.tar"):
        continue
    for inner in tarfile.open(fileobj=outer.extractfile(member), mode="r|"):
        # usr/share/python-wheels: the ensurepip wheels of Debian python3-venv (dpkg files, no cache)
        wheel = inner.name.endswith(".whl") and not inner.name.startswith("usr/share/python-wheels/")
        if wheel or "/.cache/pip/" in "/" + inner.name:
            bad.append(member.name.split("/")[0][:12] + ": " + inner.name)
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
'
}
check "no wheel or pip cache file in any layer" no_wheel_in_layers

# A team server is often offline and shared (images/jupyter/): JupyterLab's server fetches neither
# the news feed nor PyPI's latest release, even when its news and update endpoints are asked. The
# two hosts resolve to a listener in the container, which counts the connections that come; the
# server is started as launcher-init starts it (`jupyter-lab --config=FILE`).
outbound_attempts() {
  "$docker" run --rm -i --name "real-image-outbound-$$" --entrypoint python3 --add-host jupyterlab.github.io:127.0.0.1 \
    --add-host pypi.org:127.0.0.1 "$image" - <<'PY'
import socket, subprocess, threading, time, urllib.request

listener = socket.create_server(("127.0.0.1", 443))
connections = []
def count_connections():  # closing at once fails the fetch fast instead of at its timeout
    while True:
        peer, _ = listener.accept()
        connections.append(peer.getpeername())
        peer.close()
threading.Thread(target=count_connections, daemon=True).start()

with open("/tmp/probe_config.py", "w") as config:
    config.write("c.IdentityProvider.token = 'probe'\nc.ServerApp.ip = '127.0.0.1'\nc.ServerApp.port = 8888\n"
                 "c.ServerApp.open_browser = False\nc.ServerApp.allow_root = True\nc.ServerApp.root_dir = '/tmp'\n")
server = subprocess.Popen(["jupyter-lab", "--config=/tmp/probe_config.py"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def get(path):
    request = urllib.request.Request("http://127.0.0.1:8888" + path, headers={"Authorization": "token probe"})
    return urllib.request.urlopen(request, timeout=60).read()
for _ in range(240):
    try:
        get("/api/status")
        break
    except OSError:
        time.sleep(0.5)
get("/lab/api/news")
get("/lab/api/update")
server.terminate()
print(len(connections))
PY
}
check "JupyterLab's server fetches no news and checks PyPI for no update" test "$(outbound_attempts)" = 0

# Jupyter behind launcher up.
launcher="$build/launcher"
work="$(mktemp -d)"
name="real-image-jupyter-$$"
cleanup() { (cd "$work" && "$launcher" --docker "$docker" down "$name" --force >/dev/null 2>&1) || true; rm -rf "$work" "${profile:-}"; }
trap cleanup EXIT
echo hello >"$work/seen-in-the-browser.txt"
up="$(cd "$work" && "$launcher" --docker "$docker" up --json --gpus none -p auto:8888 --name "$name" --image "$image")"
url="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["url"])' "$up")"
# gpu-check, built in the image against the wheel's CUDA LibTorch (no nvcc needed), run by doctor.
doctor="$(cd "$work" && "$launcher" --docker "$docker" doctor --gpu "$name" 2>&1)" && doctor_exit=0 || doctor_exit=$?
check "doctor --gpu exits 3 (no GPU here)" test "$doctor_exit" = 3
check "gpu-check in the image runs the wheel's LibTorch 2.7.1, built with CUDA" \
  grep -Pzq 'LibTorch: 2\.7\.1\n  LibTorch built with CUDA: yes\n  CUDA available: no\n' <<<"$doctor"
check "gpu-check says why no GPU is visible" grep -q 'gpu-check: no GPU: LibTorch sees no CUDA device' <<<"$doctor"
base="${url%%/?token=*}"
token="${url##*token=}"
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "403 without a token" test "$(status "$base/api/status")" = 403
check "403 with a wrong token" test "$(status -H 'Authorization: token wrong' "$base/api/status")" = 403
check "200 with the right token by header" test "$(status -H "Authorization: token $token" "$base/api/status")" = 200
check "a foreign Host is refused" test "$(status -H "Authorization: token $token" -H 'Host: evil.example' "$base/api/status")" = 403
# The lab's default settings (overrides.json) answer JupyterLab's news question with no and turn
# its update check off, so the page neither asks nor calls the news and update endpoints.
notification_defaults() {
  curl -s -H "Authorization: token $token" "$base/lab/api/settings/@jupyterlab/apputils-extension:notification" |
    python3 -c 'import json, sys; properties = json.load(sys.stdin)["schema"]["properties"]
print(properties["fetchNews"]["default"], properties["checkForUpdates"]["default"])'
}
check "JupyterLab's settings: fetchNews false, checkForUpdates false" test "$(notification_defaults)" = "false False"
if command -v chromium >/dev/null; then
  profile="$(mktemp -d)"  # outside the project folder, which the container serves
  browse() { chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --virtual-time-budget=15000 "$@" 2>/dev/null; }
  shows_jupyterlab() { grep -q 'jp-LabShell\|jp-DirListing' <<<"$page" && grep -q seen-in-the-browser.txt <<<"$page"; }
  # What the page requests after it loads (the file list) can miss the virtual time budget on a
  # loaded machine: the page is loaded again until it shows.
  load_shows_jupyterlab() { page="$(browse --dump-dom "$url")" && shows_jupyterlab; }
  wait_until 60 load_shows_jupyterlab || true # checked below
  check "Chromium on the login URL shows JupyterLab with the project's files" shows_jupyterlab
  # The news question is a toast ("Would you like to get notified about official Jupyter news?"), an
  # update a toast too; both count in the status bar's notification center.
  asks_nothing() {
    ! grep -q 'official Jupyter news\|newer version' <<<"$page" && grep -q 'jp-Notification-Status-Text">0<' <<<"$page"
  }
  check "JupyterLab asks nothing about news or updates (no toast, no notification)" asks_nothing
  mkdir -p "$build/test-artifacts"
  browse --window-size=1280,800 --screenshot="$build/test-artifacts/jupyterlab-real-image.png" "$url" >/dev/null || true
  check "screenshot kept in build/test-artifacts/jupyterlab-real-image.png" test -s "$build/test-artifacts/jupyterlab-real-image.png"
else
  echo "FAIL: Chromium is not installed"
  failures=$((failures + 1))
fi
[ "$failures" = 0 ] || { echo "$failures checks failed"; exit 1; }
echo "real image checks passed: $image"
