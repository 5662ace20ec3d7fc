#!/usr/bin/env bash
# Install what Berth needs on Debian, idempotently: apt packages, npm packages, the build.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(busybox-static attr xz-utils bzip2 zstd ca-certificates runc conmon socat tini containernetworking-plugins iptables iproute2 util-linux)
# Rootless mode (bin/berthd-rootless): the user namespace, its network and the subordinate id helpers.
APT_PACKAGES+=(rootlesskit slirp4netns uidmap)
# Extra packages for the test suite: a real dockerd for interop tests; skopeo, the reference
# registry and htpasswd/openssl/curl for the registry tests and benches; chromium for the web console tests.
if [[ "${1:-}" == "--test" ]]; then APT_PACKAGES+=(docker.io skopeo docker-registry apache2-utils openssl curl tmux python3-docker docker-compose chromium); fi
# The metrics test scrapes berthd with a real Prometheus server.
if [[ "${1:-}" == "--test" ]]; then APT_PACKAGES+=(prometheus); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: only when the lock file changed since the last install.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build when any source is newer than the last build.
stamp=dist/.build-stamp
if [[ ! -f $stamp ]] || [[ -n "$(find src test bench native binding.gyp scripts/bundle-cli.js scripts/bundle-console.js scripts/build-native.sh tsconfig.json package.json -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
  npm run --silent build
  touch "$stamp"
fi
