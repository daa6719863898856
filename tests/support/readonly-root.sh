#!/usr/bin/env bash
# readonly-root.sh TREE -- CMD...
#
# Runs CMD in a private mount namespace where every mount of the machine is read-only except TREE,
# which must be a directory made by mktemp -d under ${TMPDIR:-/tmp}. Tests of destructive commands
# (`down --purge`, `secret rotate`) run the launcher through it: whatever a bug resolves a hostile
# name to, nothing outside TREE can be written, chmodded or deleted. Exits with CMD's status; 2 on
# a usage error, 3 when the namespace cannot be made read-only (it never runs CMD then).
#
# Needs root, or unprivileged user namespaces (then CMD runs as the namespace's root). Unix
# sockets still answer inside (connect() works on a read-only mount), so the Docker engine does.
set -euo pipefail

die() {
  printf 'readonly-root.sh: %s\n' "$1" >&2
  exit "${2:-2}"
}

# "MOUNT_POINT<TAB>PER-MOUNT-OPTIONS" for every mount a path can reach, octal escapes (\040 for a
# space...) decoded. A mount hidden under another one on the same mount point is left out: no path
# reaches it (/dev/pts and /dev/shm are often mounted twice).
visible_mounts() {
  local point options
  awk '{ id[NR] = $1; parent[NR] = $2; point[NR] = $5; options[NR] = $6 }
       END {
         for (i = 1; i <= NR; i++) top[id[i]] = 1
         for (i = 1; i <= NR; i++) for (j = 1; j <= NR; j++)
           if (parent[j] == id[i] && point[j] == point[i] && j != i) top[id[i]] = 0
         for (i = 1; i <= NR; i++) if (top[id[i]]) print point[i] "\t" options[i]
       }' /proc/self/mountinfo |
    while IFS=$'\t' read -r point options; do
      printf '%b\t%s\n' "$point" "$options"
    done
}

is_read_only() { # OPTIONS
  [[ ",$1," == *,ro,* ]]
}

if [[ "${READONLY_ROOT_OUTER_NS:-}" != "" ]]; then
  # Second stage, inside the new namespace.
  tree=$1
  shift 2 # TREE --
  [[ "$(readlink /proc/self/ns/mnt)" != "$READONLY_ROOT_OUTER_NS" ]] ||
    die "not in a mount namespace of its own: refusing to remount anything" 3
  unset READONLY_ROOT_OUTER_NS
  # Deepest first, so that the order never matters to the remount of a parent.
  mapfile -t mounts < <(visible_mounts | awk -F'\t' '{ print length($1) "\t" $0 }' | sort -rn -s | cut -f2-)
  for mount in "${mounts[@]}"; do
    point=${mount%%$'\t'*}
    options=${mount#*$'\t'}
    if ! mount -o remount,bind,ro "$point" 2>/dev/null; then
      if is_read_only "$options"; then
        printf 'readonly-root.sh: %s is already read-only; left as it is\n' "$point" >&2
      # A mount the engine is making or removing meanwhile (a container's root file system under
      # /var/lib/docker) can refuse the remount. Detached here (this namespace only: its mounts
      # are private), its path falls to the mount beneath, which is made read-only after it.
      elif umount --lazy "$point" 2>/dev/null; then
        printf 'readonly-root.sh: %s could not be made read-only; detached in this namespace\n' "$point" >&2
      else
        die "cannot remount $point read-only or detach it; not running the command" 3
      fi
    fi
  done
  mount --bind "$tree" "$tree" || die "cannot bind-mount $tree onto itself" 3
  mount -o remount,bind,rw "$tree" || die "cannot make $tree writable" 3
  # Proof before running: every mount but TREE's (and mounts inside TREE) is read-only now.
  while IFS=$'\t' read -r point options; do
    [[ "$point" == "$tree" || "$point" == "$tree"/* ]] && continue
    is_read_only "$options" || die "$point is still writable; not running the command" 3
  done < <(visible_mounts)
  set +e
  "$@"
  exit $?
fi

[[ $# -ge 3 && "$2" == "--" ]] || die "usage: readonly-root.sh TREE -- CMD..."
[[ -d "$1" && ! -L "$1" ]] || die "TREE must be an existing directory (not a symbolic link): $1"
tree=$(realpath -e -- "$1")
temp_root=$(realpath -e -- "${TMPDIR:-/tmp}")
[[ "$temp_root" != "/" ]] || die "TMPDIR must not be /"
[[ "$tree" == "$temp_root"/?* ]] ||
  die "TREE must be a directory made by mktemp -d under $temp_root, found $tree"

unshare_options=(--mount --propagation private)
[[ "$(id -u)" == 0 ]] || unshare_options+=(--map-root-user)
READONLY_ROOT_OUTER_NS=$(readlink /proc/self/ns/mnt)
export READONLY_ROOT_OUTER_NS
exec unshare "${unshare_options[@]}" -- "$(realpath -e -- "$0")" "$tree" -- "${@:3}"
