#!/usr/bin/env bash
# Berth vs Docker (and podman when installed), side by side in one run:
# `images` latency, import throughput of a 300 MB rootfs tar, idle daemon memory;
# then networking: HTTP req/s and TCP MB/s through a published port, container-to-container
# latency on a user network, and creating/removing 50 networks;
# then the registry server against Distribution.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
node dist/bench/images.js "$@"
node dist/bench/distribution.js
node dist/bench/network.js
# Registry server vs Distribution (docker-registry), pushed and pulled with skopeo.
node dist/bench/registry.js
# Builds: cold, fully cached and one-file-changed rebuilds against DOCKER_BUILDKIT=0 docker build.
node dist/bench/build.js
