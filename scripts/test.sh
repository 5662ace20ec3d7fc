#!/usr/bin/env bash
# The whole test suite: unit tests, then integration tests that start their
# own berthd (and a real dockerd for interop) on temporary roots. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec node --test --test-concurrency=1 dist/test/unit/ dist/test/integration/ dist/test/differential/
