#!/usr/bin/env bash
# Sets up rootless Podman for one unprivileged user (default launcher-podman), as root, idempotently:
# bookworm's podman with uidmap, slirp4netns, fuse-overlayfs and netavark; the user (never in the docker
# group) with subordinate uid/gid ranges; its storage.conf (native overlay, or fuse-overlayfs where the
# kernel mounts no overlay rootless; not the slow vfs default); and each IMAGE given, copied from
# Docker's store into the user's (`docker save | podman load`) unless the same image ID is there
# already; the copy a newer one replaces goes unless something still uses it. It prints what it did, then `podman info`'s rootless flag and cgroup version. It
# touches no other user's home or store.
# Usage: ensure-podman.sh [-u USER] [IMAGE...]
set -euo pipefail

user=launcher-podman
if [[ ${1:-} == -u ]]; then
  user=${2:-}
  shift 2 || true
fi
[[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] || { echo "usage: $0 [-u USER] [IMAGE...]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "$0: must run as root (it installs packages and adds a user)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)

# bookworm's podman 4.3 falls back to CNI without netavark (only trixie's podman depends on it);
# netavark is the backend of every current Podman, aardvark-dns its name server.
packages=(podman uidmap slirp4netns fuse-overlayfs netavark aardvark-dns)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${missing[*]}"
  "$here/wait-apt-lock.sh"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -q -y -o DPkg::Lock::Timeout=300 --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "packages present: ${packages[*]}"
fi

# A system user would get no subordinate ids from useradd; a normal one with a home of its own does.
if ! id "$user" >/dev/null 2>&1; then
  echo "adding user $user"
  useradd --create-home --shell /bin/bash "$user"
else
  echo "user $user exists"
fi
if id -nG "$user" | tr ' ' '\n' | grep -qx docker; then
  echo "$0: $user is in the docker group, which makes it root-equivalent: remove it from the group" >&2
  exit 1
fi
home=$(getent passwd "$user" | cut -d: -f6)
[[ -n $home && $home != / && -d $home && $(stat -c %U "$home") == "$user" ]] ||
  { echo "$0: $user's home '$home' is not a directory it owns" >&2; exit 1; }

# fuse-overlayfs opens /dev/fuse and slirp4netns /dev/net/tun as the user. udev makes both 0666 on
# Debian (50-udev-default.rules); a host without udev (a container sandbox) leaves them 0600 root,
# and every podman run fails: "fuse: failed to open /dev/fuse: Permission denied", then
# "slirp4netns failed: open("/dev/net/tun"): Permission denied".
for device in /dev/fuse /dev/net/tun; do
  if [[ -c $device && $(stat -c %a "$device") != 666 ]]; then
    echo "making $device 0666 (it was $(stat -c %a "$device")), the mode udev gives it on Debian"
    chmod 0666 "$device"
  fi
done

# 65536 ids above every range already handed out, the size useradd itself gives.
for file in /etc/subuid /etc/subgid; do
  touch "$file"
  if grep -q "^$user:" "$file"; then
    echo "$file has a range for $user"
  else
    start=$(awk -F: 'BEGIN { top = 100000 } { if ($2 + $3 > top) top = $2 + $3 } END { print top }' "$file")
    echo "$user:$start:65536" >>"$file"
    echo "added $user:$start:65536 to $file"
  fi
done

# A clean environment: root's XDG_* or CONTAINERS_* variables would point podman at root's files.
as_user() {
  (cd "$home" && runuser -u "$user" -- env -i HOME="$home" USER="$user" LOGNAME="$user" \
    PATH=/usr/local/bin:/usr/bin:/bin "$@")
}

# A file of the user's podman configuration, written as the user (nothing in its home becomes root's)
# unless it already holds exactly this.
user_config() {
  local file=$home/.config/containers/$1 wanted=$2 what=$3
  if [[ -f $file && $(cat "$file") == "$wanted" ]]; then
    echo "$file chooses $what"
  else
    echo "writing $file ($what)"
    as_user mkdir -p "$home/.config/containers"
    printf '%s\n' "$wanted" | as_user tee "$file" >/dev/null
  fi
}
# The store's place is written out, so a run with another HOME (a test's temp tree) that names these
# files in CONTAINERS_STORAGE_CONF and CONTAINERS_CONF finds the same images and networks; and so is
# the run root, podman's own where no login session set XDG_RUNTIME_DIR. Rootless podman places
# its store by rootless_storage_path, but `podman commit` refuses a file without graphroot and
# runroot ("graphroot must be set").
store=$home/.local/share/containers/storage
storage_conf=$home/.config/containers/storage.conf
fuse_overlay_option=$'\n\n[storage.options.overlay]\nmount_program = "/usr/bin/fuse-overlayfs"'

# Whether the kernel mounts overlay inside the user's own user namespace (Linux 5.13 and later).
native_overlay_mounts() {
  local probe
  probe=$(as_user mktemp -d "$home/.overlay-probe.XXXXXX")
  as_user mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  local verdict=0
  as_user unshare --user --map-root-user --mount mount -t overlay overlay \
    -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null || verdict=1
  as_user rm -rf "$probe"
  return $verdict
}
# Native overlay where the kernel has it: under --userns keep-id Podman then maps the image's files
# once (a copy of the image it keeps for the next container) and a commit (a snapshot) holds only
# what the container changed. Through fuse-overlayfs every file's owner differs from the image's,
# so every snapshot holds the whole image again (1.91 GB for the 1.92 GB CPU image). A store
# already written through fuse-overlayfs keeps it: switching means `podman system reset`, which
# deletes the user's images and containers, so the script only says how. Podman's storage also
# switches a store to fuse-overlayfs by itself when its check of the kernel's overlay fails, and
# records that in the store (overlay/.has-mount-program): storage.conf then says so too.
overlay_through=native
if [[ -d $store/overlay-layers ]] && { { [[ -f $storage_conf ]] && grep -q '^mount_program' "$storage_conf"; } ||
  [[ $(as_user cat "$store/overlay/.has-mount-program" 2>/dev/null) == true ]]; }; then
  overlay_through=fuse-overlayfs
  echo "$user's store was made through fuse-overlayfs: it stays so; for native overlay (snapshots of" \
    "only what changed) run \`podman system reset\` as $user, which deletes its images and containers, then this again"
elif ! native_overlay_mounts; then
  overlay_through=fuse-overlayfs
  echo "this kernel mounts no overlay in a user namespace (Linux 5.13 and later do): fuse-overlayfs instead;" \
    "under it a snapshot holds every file of the image again"
fi
storage_text="$(printf '%s\n' '[storage]' 'driver = "overlay"' \
  "runroot = \"/tmp/containers-user-$(id -u "$user")/containers\"" "graphroot = \"$store\"" \
  "rootless_storage_path = \"$store\"")"
[[ $overlay_through == native ]] || storage_text+=$fuse_overlay_option
user_config storage.conf "$storage_text" "overlay, $overlay_through"
# Podman keeps CNI once a store has used it; netavark must be named.
user_config containers.conf "$(printf '%s\n' '[network]' 'network_backend = "netavark"')" "netavark"

for image in "$@"; do
  docker_id=$(docker image inspect --format '{{.Id}}' "$image")
  podman_id=$(as_user podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
  if [[ sha256:$podman_id == "$docker_id" || $podman_id == "$docker_id" ]]; then
    echo "$image ($docker_id) is in $user's store already"
  else
    echo "copying $image ($docker_id) from Docker into $user's store"
    docker save "$image" | as_user podman load -q
    # The copy it replaces, untagged now, goes unless a container or another tag still uses it.
    if [[ -n $podman_id ]] && as_user podman image rm "$podman_id" >/dev/null 2>&1; then
      echo "removed the copy it replaced ($podman_id)"
    fi
  fi
done

rootless=$(as_user podman info --format '{{.Host.Security.Rootless}}')
cgroup=$(as_user podman info --format '{{.Host.CgroupsVersion}}')
driver=$(as_user podman info --format '{{.Store.GraphDriverName}}')
network=$(as_user podman info --format '{{.Host.NetworkBackend}}')
echo "podman info as $user: rootless $rootless, cgroups $cgroup, storage $driver, network backend $network"
[[ $rootless == true ]] || { echo "$0: podman is not rootless for $user" >&2; exit 1; }
[[ $driver == overlay ]] || { echo "$0: $user's store uses $driver, not overlay" >&2; exit 1; }
if [[ $cgroup == v1 ]]; then
  echo "cgroups v1: rootless podman cannot enforce --memory, --cpus or --pids-limit here (it ignores them)"
fi
