#!/usr/bin/env bash
# Installs the Debian packages hx needs to build and test, if any is missing.
# Idempotent and quiet when everything is already there.
#   scripts/deps.sh            build + test dependencies
#   scripts/deps.sh bench      also the peer tools the benchmarks compare against
set -euo pipefail

packages=(
  cmake ninja-build g++ clang pkg-config ca-certificates
  libsodium-dev libzstd-dev nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libssl-dev libboost-dev
  libspdlog-dev libfmt-dev libzip-dev libuv1-dev libsqlite3-dev libjemalloc-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev libclang-rt-14-dev
  python3-prometheus-client
  chromium chromium-driver python3-selenium
  json-schema-test-suite
  dpkg-dev zsh fish groff-base
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(b3sum hyperfine rsync rclone restic unison time linux-perf strace)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
