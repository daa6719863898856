#!/usr/bin/env bash
# Times `launcher-init backup run` against a plain `rclone copy` (and `aws s3 cp --recursive` where
# installed) of the same tree to the same loopback moto_server (issue 29's speed criterion): 1 GiB
# in 64 files, a first version and an unchanged second one. Run by hand, as root (launcher-init
# reads its root-only secrets): tests/bench/bench-backup.sh LAUNCHER_INIT [ADDRESS:PORT [ROUNDS]]
# Each round copies to fresh prefixes, rclone and launcher-init back to back, so that a loaded
# machine slows both alike: compare the ratios of the rounds.
# Everything lives in a temporary tree, removed at the end, with the server it started.
set -euo pipefail
launcher_init=$(realpath "$1")
address=${2:-127.0.0.1:5391}
rounds=${3:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap '"$here/support/moto-server.sh" stop "$address"; rm -rf "$tmp"' EXIT

"$here/support/moto-server.sh" start "$address"
endpoint=http://$address
for bucket in plain aws launcher; do curl -sf -X PUT "$endpoint/$bucket" >/dev/null; done

tree=$tmp/root/workspace/checkpoints
mkdir -p "$tree" "$tmp/secrets"
for i in $(seq -w 1 64); do head -c $((16 * 1024 * 1024)) /dev/urandom >"$tree/shard-$i.bin"; done
bytes=$(du -sb "$tree" | cut -f1)
printf '{"aws_access_key_id":"AKIABENCH","aws_secret_access_key":"bench"}' >"$tmp/secrets/backup_credentials"
chmod 600 "$tmp/secrets/backup_credentials"

seconds() { # COMMAND...: its wall-clock seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
# rclone as launcher-init configures it: by environment, without the machine's AWS_CA_BUNDLE.
plain_rclone() {
  env -u AWS_CA_BUNDLE RCLONE_CONFIG_S_TYPE=s3 RCLONE_CONFIG_S_PROVIDER=Other RCLONE_CONFIG_S_ACCESS_KEY_ID=AKIABENCH \
    RCLONE_CONFIG_S_SECRET_ACCESS_KEY=bench RCLONE_CONFIG_S_ENDPOINT="$endpoint" RCLONE_CONFIG_S_REGION=us-east-1 \
    rclone --config /dev/null copy "$tree" "S:plain/team/env$round"
}
aws_cp() {
  env -u AWS_CA_BUNDLE AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 \
    aws --endpoint-url "$endpoint" s3 cp --recursive --quiet "$tree" s3://aws/team/env1
}
backup() {
  env LAUNCHER_SERVICE=shell LAUNCHER_USER=root LAUNCHER_UID=0 LAUNCHER_GID=0 LAUNCHER_ROOT="$tmp/root" \
    LAUNCHER_SECRETS_DIR="$tmp/secrets" LAUNCHER_BACKUP_TO="s3://launcher/team/env$round" \
    LAUNCHER_BACKUP_PATHS='["/workspace/checkpoints"]' LAUNCHER_BACKUP_ENDPOINT="$endpoint" \
    "$launcher_init" backup run
}
rate() { echo "scale=1; $bytes / 1000000 / $1" | bc -l; }
row() { printf '%-34s %8.2f s %8s MB/s\n' "$1" "$2" "$(rate "$2")"; }

ratios=() # launcher-init's first-version throughput over rclone copy's, a round each
aws_ratios=() # the same over aws s3 cp's, where installed
seconds_of_second=() # unchanged second / first, a round each
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "tree: 64 files, $bytes bytes; server: moto_server on $endpoint; rclone $(rclone version | head -1)"
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  plain_first=$(seconds plain_rclone); row "rclone copy, first" "$plain_first"
  plain_second=$(seconds plain_rclone); row "rclone copy, unchanged second" "$plain_second"
  if command -v aws >/dev/null; then
    aws_first=$(seconds aws_cp); row "aws s3 cp --recursive, first" "$aws_first"
  fi
  backup_first=$(seconds backup); row "launcher-init backup, first" "$backup_first"
  backup_second=$(seconds backup); row "launcher-init backup, unchanged second" "$backup_second"
  ratios+=("$(echo "scale=2; $plain_first / $backup_first" | bc -l)")
  seconds_of_second+=("$(echo "scale=3; $backup_second / $backup_first" | bc -l)")
  echo "first version: launcher-init throughput / rclone copy's = ${ratios[-1]}"
  if [[ -n ${aws_first:-} ]]; then
    aws_ratios+=("$(echo "scale=2; $aws_first / $backup_first" | bc -l)")
    echo "first version: launcher-init throughput / aws s3 cp's = ${aws_ratios[-1]}"
  fi
  echo "unchanged second / first (launcher-init) = ${seconds_of_second[-1]}"
done
echo "over $rounds rounds: first version / rclone copy's throughput: median $(median "${ratios[@]}"), each ${ratios[*]};" \
  "unchanged second / first: median $(median "${seconds_of_second[@]}")"
if ((${#aws_ratios[@]} > 0)); then
  echo "first version / aws s3 cp's throughput: median $(median "${aws_ratios[@]}"), each ${aws_ratios[*]}"
fi
