#!/usr/bin/env bash
# An hour of mixed load at a steady rate against `carrel serve`, after a 15-minute warm-up,
# sampling resident memory, open file descriptors and p99 latency every minute; fails on growth
# beyond 10% after the warm-up (scripts/soak.py; figures in docs/reliability.md). Run by hand:
#   scripts/soak.sh [--minutes 75] [--warmup 15] [--rate 30] [--patrons N --items N --loans N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
make --no-print-directory build-release >/dev/null
exec python3 scripts/soak.py --carrel build/release/carrel "$@"
