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
# base image, with the key it checks bookworm against (Ubuntu lacks it). The image builds
# launcher-init and gpu-check itself, so LibTorch (opencv, ffmpeg: hundreds of MB) is not needed.
up_packages=(docker.io debootstrap debian-archive-keyring)
# With `up`'s engine and base image: the real servers launcher-init is tested against; Debian's
# CPU PyTorch for the Python examples; git and curl for the quick-start test's clone and login.
test_packages=(
  shellcheck docker-registry openssh-client chromium git curl
  openssh-server jupyter-server python3-nbclassic ssh-audit
  python3-torch
)
# The `up` benchmark's floor script polls with curl and ssh; GNU time reads the launcher's
# CPU time and peak RSS. (npm, for @devcontainers/cli, comes with the machine's Node.js.)
bench_packages=(curl time openssh-client docker.io)
# libFuzzer and the sanitizers' runtimes come with Debian's clang.
fuzz_packages=(clang libclang-rt-dev)

case "${1:-}" in
  build) wanted=("${build_packages[@]}") ;;
  up) wanted=("${launcher_packages[@]}" "${up_packages[@]}") ;;
  test) wanted=("${build_packages[@]}" "${up_packages[@]}" "${test_packages[@]}") ;;
  bench) wanted=("${build_packages[@]}" "${bench_packages[@]}") ;;
  fuzz) wanted=("${build_packages[@]}" "${fuzz_packages[@]}") ;;
  *) echo "usage: $0 build|up|test|bench|fuzz" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages; install them with:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
