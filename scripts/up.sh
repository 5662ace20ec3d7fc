#!/usr/bin/env bash
# Berth's main job on a fresh Debian machine: install what it needs, start
# berthd if none is running, make an offline busybox image if missing, and
# show it listed by berth and by the real docker CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
berth=bin/berth
sock=${BERTH_SOCK:-/run/berth/berth.sock}

# berth starts berthd itself (as root, on the default socket) when none answers.
$berth version --format 'berthd {{.Server.Version}} (API {{.Server.APIVersion}}) answering on '"$sock"

if ! $berth image inspect busybox:latest >/dev/null 2>&1; then
  tmp=$(mktemp --suffix=.tar)
  trap 'rm -f "$tmp"' EXIT
  bash scripts/busybox-rootfs.sh "$tmp"
  $berth import --change 'CMD ["sh"]' --message 'busybox from Debian busybox-static' "$tmp" busybox:latest >/dev/null
  echo "made busybox:latest from Debian's busybox-static"
fi

echo "--- berth images"
$berth images
if command -v docker >/dev/null; then
  echo "--- DOCKER_HOST=unix://$sock docker images"
  DOCKER_HOST=unix://$sock docker images
fi
echo "--- berth run --rm busybox (a container on the default bridge, through runc)"
$berth run --rm busybox sh -c 'echo "hello from $(hostname), address $(ip -4 -o addr show eth0 | awk "{print \$4}")"'
