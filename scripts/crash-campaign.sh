#!/usr/bin/env bash
# Kills `carrel serve` with SIGKILL at random moments under mixed load, at least 100 times, and
# checks after each kill that nothing acknowledged was lost, nothing was half applied, the audit
# log verifies against the head taken before the kill, and retention's runs and plan agree
# (scripts/crash_campaign.py; results in docs/reliability.md). Run by hand, as root or not:
#   scripts/crash-campaign.sh [--rounds 100] [--seed N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
make --no-print-directory build-release >/dev/null
exec python3 scripts/crash_campaign.py --carrel build/release/carrel "$@"
