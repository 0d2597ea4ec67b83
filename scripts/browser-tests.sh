#!/usr/bin/env bash
# The web UI's tests in a real browser: Debian's Chromium driven by npm playwright-core (pinned
# in web/package-lock.json), against `carrel serve` from the release build. Run by make test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/web"
if [ ! -x /usr/bin/chromium ]; then
  echo "carrel: the browser tests need Debian's chromium (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
"$root/scripts/npm-install-locked.sh" "$root/web"
export CARREL_BINARY="$root/build/release/carrel"
if [ "${1:-}" = --screenshots ]; then
  exec node tests/screenshots.mjs
fi
if [ "${1:-}" = --bench ]; then
  exec node tests/bench.mjs
fi
node --test --test-concurrency=1 tests/*.test.mjs
