#!/usr/bin/env bash
# Makes sure the Debian packages a step needs are installed: as root it installs what is
# missing; otherwise it prints the exact command and fails. Usage: ensure-packages.sh build|up|test|bench|fuzz
set -euo pipefail

# What configuring the project and compiling the launcher need.
launcher_packages=(
  cmake g++ make pkg-config ccache
  nlohmann-json3-dev libcli11-dev libfmt-dev catch2 libsodium-dev libssh-dev libssl-dev libcrypt-dev libcpp-httplib-dev
)
# Every target: LibTorch for the C++ examples and gpu-check (CMake skips them without it).
build_packages=("${launcher_packages[@]}" libtorch-dev)
# `make up`: the engine (docker.io's client has BuildKit built in) and debootstrap for the offline
# base image, with the key it checks bookworm against (Ubuntu lacks it); pip, which fills the wheel
# cache of the real image (tools/wheel-cache.py). The image builds launcher-init and gpu-check
# itself, so LibTorch (opencv, ffmpeg: hundreds of MB) is not needed.
up_packages=(docker.io debootstrap debian-archive-keyring python3-pip)
# With `up`'s engine and base image: the real servers launcher-init is tested against; Debian's
# CPU PyTorch for the Python examples; git and curl for the quick-start test's clone and login.
# Slurm and munge: the two-node test cluster of tests/slurm. rclone: launcher-init's backups run
# on the host in their tests; python3-venv: moto_server, their S3 server (tests/support/moto-server.sh).
test_packages=(
  shellcheck docker-registry openssh-client chromium git curl rclone python3-venv
  openssh-server jupyter-server python3-nbclassic ssh-audit
  python3-torch docker-compose
  slurmctld slurmd slurm-client munge
)
# The `up` benchmark's floor script polls with curl and ssh; GNU time reads the CPU time and
# peak RSS of the launcher with its Docker CLIs (its own: a preloaded library the build's C
# compiler makes). npm, for @devcontainers/cli, comes with the machine's Node.js; without it or
# its registry the devcontainer rows are skipped.
bench_packages=(curl time openssh-client docker.io slurmctld slurmd slurm-client munge bc)
# libFuzzer and the sanitizers' runtimes come with Debian's clang.
fuzz_packages=(clang libclang-rt-dev)
# Debian's clang-format and clang-tidy (14 on bookworm) are what the lint check was written against.
lint_packages=(clang-format clang-tidy)

case "${1:-}" in
  build) wanted=("${build_packages[@]}") ;;
  up) wanted=("${launcher_packages[@]}" "${up_packages[@]}") ;;
  test) wanted=("${build_packages[@]}" "${up_packages[@]}" "${test_packages[@]}") ;;
  bench) wanted=("${build_packages[@]}" "${bench_packages[@]}") ;;
  fuzz) wanted=("${build_packages[@]}" "${fuzz_packages[@]}") ;;
  lint) wanted=("${build_packages[@]}" "${lint_packages[@]}") ;;
  *) echo "usage: $0 build|up|test|bench|fuzz|lint" >&2; exit 2 ;;
esac

# Newer suites for single packages on bookworm, never a wholesale upgrade: apt is given the suite
# with priority 1 (nothing comes from it unasked). Docker Compose v2 (the `docker compose` plugin,
# for `launcher export`'s tests) is not in bookworm, which has 1.29 under the same package name;
# trixie's 2.26 runs on bookworm and is pinned at 990. The engine is asked for by suite (below).
on_bookworm() { grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release; }
suite_sources() { echo "/etc/apt/sources.list.d/launcher-$1.sources"; }
suite_pin() { echo "/etc/apt/preferences.d/launcher-$1"; }
suite_added() { [[ -f $(suite_sources "$1") && -f $(suite_pin "$1") ]]; }
# sid's Release file can be past its Valid-Until between two publications.
add_suite() {
  local suite=$1 pinned_package=${2:-}
  echo "adding Debian $suite to apt's sources at priority 1${pinned_package:+, 990 for $pinned_package}" \
    "($(suite_sources "$suite"), $(suite_pin "$suite"))"
  printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: $suite" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$(suite_sources "$suite")"
  [[ $suite != sid ]] || echo "Check-Valid-Until: no" >>"$(suite_sources "$suite")"
  {
    printf '%s\n' "Package: *" "Pin: release n=$suite" "Pin-Priority: 1"
    [[ -z $pinned_package ]] || printf '%s\n' "" "Package: $pinned_package" "Pin: release n=$suite" "Pin-Priority: 990"
  } >"$(suite_pin "$suite")"
}

# Any installed engine will do (Docker's own docker-ce too): docker.io is only the one installed
# where there is none. Bookworm's is Engine 20.10, which lets machines on the segment reach ports
# published on 127.0.0.1 (fixed in 28.0), so on bookworm it comes from sid (28.5), else from trixie
# (26.1): the engine, its CLI, the buildx plugin that gives the CLI BuildKit, and the containerd it
# is built against, all four from that suite; they need only libc6 ≥ 2.34 (bookworm has 2.36), and
# runc and iptables stay bookworm's.
engine_installed() {
  command -v dockerd >/dev/null || [[ -x /usr/sbin/dockerd || -x /usr/bin/dockerd ]]
}
missing=()
for package in "${wanted[@]}"; do
  [[ $package == docker.io ]] && engine_installed && continue
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
# bookworm's own docker-compose (1.29) has no plugin: it counts as missing.
if [[ " ${wanted[*]} " == *" docker-compose "* && ! -x /usr/libexec/docker/cli-plugins/docker-compose &&
      " ${missing[*]} " != *" docker-compose "* ]]; then
  missing+=(docker-compose)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

wants() { [[ " ${missing[*]} " == *" $1 "* ]]; }
compose_from_trixie() { wants docker-compose && on_bookworm; }
engine_from_newer_suite() { wants docker.io && on_bookworm; }

if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages; install them with:" >&2
  if compose_from_trixie && ! suite_added trixie; then
    echo "  (docker-compose v2 comes from trixie: run this script as root once, or add trixie to apt's sources with" >&2
    echo "   Pin-Priority 1 and 990 for the package docker-compose, as $0 does)" >&2
  fi
  if engine_from_newer_suite; then
    echo "  (Docker Engine 28 comes from sid: run this script as root once, or add sid to apt's sources with" >&2
    echo "   Pin-Priority 1 and install docker.io/sid docker-cli/sid docker-buildx/sid, as $0 does)" >&2
  fi
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if (compose_from_trixie || engine_from_newer_suite) && ! suite_added trixie; then
  add_suite trixie docker-compose
fi
if engine_from_newer_suite && ! suite_added sid; then
  add_suite sid
fi
# Another apt or dpkg run (unattended-upgrades after boot, a CI job) is waited for, not failed on;
# DPkg::Lock::Timeout covers a run that takes the lock between the wait and apt-get.
apt_get() {
  "$(dirname "$0")/wait-apt-lock.sh"
  apt-get -o DPkg::Lock::Timeout=300 "$@"
}
export DEBIAN_FRONTEND=noninteractive
apt_get update -q
if engine_from_newer_suite; then
  engine_versions=$(apt-cache madison docker.io)
  engine_suite=trixie
  [[ $engine_versions == *" sid/"* ]] && engine_suite=sid
  engine_version=$(awk -v suite=" $engine_suite/" 'index($0, suite) {print $3; exit}' <<<"$engine_versions")
  [[ $engine_suite == sid ]] ||
    echo "Debian sid offers no docker.io today: taking trixie's (Engine ${engine_version%%+*}), which still lets" \
      "machines on the segment reach ports published on 127.0.0.1 (launcher doctor says how to block them)"
  echo "installing Docker Engine ${engine_version%%+*} from Debian $engine_suite (docker.io, docker-cli, docker-buildx, containerd; nothing else from $engine_suite)"
  missing=("${missing[@]/#docker.io/docker.io/$engine_suite}" "docker-cli/$engine_suite" "docker-buildx/$engine_suite"
    "containerd/$engine_suite")
fi
echo "installing missing Debian packages: ${missing[*]}"
apt_get install -y -q --no-install-recommends "${missing[@]}"
