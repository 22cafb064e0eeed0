#!/usr/bin/env bash
# Installs what Tabby's build, tests and demo need on a fresh Debian 12 machine with Node 20:
# system packages (only the missing ones, one apt transaction) and the npm packages (npm ci).
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# command → Debian package providing it
declare -A need=(
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [nft]=nftables
  [ip]=iproute2
  [podman]=podman
  [runc]=runc
  [openssl]=openssl
  [cc]=gcc
  [make]=make
  [ping]=iputils-ping
  [nsenter]=util-linux
  [conntrack]=conntrack
  [bird]=bird2
  [birdc]=bird2
  [gobgpd]=gobgpd
  [iperf3]=iperf3
  [bridge]=iproute2
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# The CNI reference plugins (bridge, host-local, loopback) for podman's CNI backend and the benchmark anchor.
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || missing+=(containernetworking-plugins)
# A static busybox for the podman CNI test's local image (imported from a tarball, no registry).
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)

if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
