#!/usr/bin/env bash
# Makes sure the Debian packages a step needs are installed: as root it installs what is
# missing; otherwise it prints the exact command and fails. Usage: ensure-packages.sh build|up|test|bench|fuzz
set -euo pipefail

# What configuring the project and compiling the launcher need.
launcher_packages=(
  cmake g++ make pkg-config ccache
  nlohmann-json3-dev libcli11-dev libfmt-dev catch2 libsodium-dev libssh-dev libcrypt-dev libcpp-httplib-dev
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
# Slurm and munge: the two-node test cluster of tests/slurm.
test_packages=(
  shellcheck docker-registry openssh-client chromium git curl
  openssh-server jupyter-server python3-nbclassic ssh-audit
  python3-torch docker-compose
  slurmctld slurmd slurm-client munge
)
# The `up` benchmark's floor script polls with curl and ssh; GNU time reads the launcher's
# CPU time and peak RSS. (npm, for @devcontainers/cli, comes with the machine's Node.js.)
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

# Docker Compose v2 (the `docker compose` plugin, for `launcher export`'s tests) is not in
# bookworm, which has 1.29 under the same package name; trixie's docker-compose 2.26 runs on
# bookworm. On bookworm apt is given trixie with priority 1 (nothing comes from it unasked) and
# 990 for that one package.
trixie_sources=/etc/apt/sources.list.d/launcher-trixie.sources
trixie_pin=/etc/apt/preferences.d/launcher-trixie
compose_from_trixie() {
  [[ " ${wanted[*]} " == *" docker-compose "* ]] && grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release
}
compose_pinned() { [[ -f $trixie_sources && -f $trixie_pin ]]; }

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
# bookworm's own docker-compose (1.29) has no plugin: it counts as missing.
if [[ " ${wanted[*]} " == *" docker-compose "* && ! -x /usr/libexec/docker/cli-plugins/docker-compose &&
      " ${missing[*]} " != *" docker-compose "* ]]; then
  missing+=(docker-compose)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages; install them with:" >&2
  if compose_from_trixie && ! compose_pinned; then
    echo "  (docker-compose v2 comes from trixie: run this script as root once, or add trixie to apt's sources with" >&2
    echo "   Pin-Priority 1 and 990 for the package docker-compose, as $0 does)" >&2
  fi
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if compose_from_trixie && ! compose_pinned; then
  echo "adding Debian trixie to apt's sources, pinned to the package docker-compose ($trixie_sources, $trixie_pin)"
  cat >"$trixie_sources" <<'EOF_SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF_SOURCES
  cat >"$trixie_pin" <<'EOF_PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: docker-compose
Pin: release n=trixie
Pin-Priority: 990
EOF_PIN
fi
echo "installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
