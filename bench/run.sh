#!/usr/bin/env bash
# Berth vs Docker (and podman when installed), side by side in one run, printing ratios:
# images (`images` latency, import throughput, idle daemon memory); containers (run --rm
# latency, 50 containers, memory per container, daemon memory, log throughput); a cold pull
# from a local reference registry; networking (HTTP req/s and TCP MB/s through a published
# port, container-to-container latency, creating/removing 50 networks); the registry server
# against Distribution (skopeo push/pull); its S3 storage driver against the filesystem one and
# Distribution on the same S3 server (s3rver); builds (cold, cached, one-file-changed rebuilds
# against DOCKER_BUILDKIT=0 docker build); security (run --rm with --userns-remap, rootless
# and the audit log off, against a plain rootful berthd); metrics (berthd CPU per /metrics scrape with 50
# containers, idle RSS with metrics on and off, history RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
node dist/bench/images.js "$@"
node dist/bench/containers.js "$@"
node dist/bench/distribution.js
node dist/bench/network.js
node dist/bench/registry.js
node dist/bench/registry-s3.js
node dist/bench/build.js
node dist/bench/security.js
node dist/bench/metrics.js
