#!/usr/bin/env bash
# Makes the local Debian base image that offline builds use instead of a registry base:
# debootstrap a minimal bookworm and `docker import` it. Does nothing when the image exists.
set -euo pipefail

image=${1:-launcher-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
docker_bin=${DOCKER:-docker}

if "$docker_bin" image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image already present"
  exit 0
fi

command -v debootstrap >/dev/null || {
  echo "make-base: debootstrap is missing: apt-get install debootstrap" >&2
  exit 1
}

rootfs=$(mktemp -d /tmp/launcher-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "debootstrap bookworm into $rootfs (a few minutes)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2
  echo "make-base: debootstrap failed (full log: $rootfs.log)" >&2
  exit 1
}
# apt inside the image reaches the same mirror as the host.
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" >"$rootfs/etc/apt/sources.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | "$docker_bin" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
rm -f "$rootfs.log"
echo "made base image $image"
