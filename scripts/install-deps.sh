#!/usr/bin/env bash
# Installs the Debian 12 packages carrel builds and tests with, skipping all apt work when every
# package is already present so that re-runs are quick.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libsqlite3-dev libsodium-dev libssl-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libspdlog-dev libtomlplusplus-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev libpq-dev libyaz-dev nginx postgresql-15
  tzdata sqlite3 curl openssl python3
  clang libclang-rt-14-dev
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "carrel: missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
  exit 1
fi
echo "carrel: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
