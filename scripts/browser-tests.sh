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
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "carrel: the browser tests need Node.js 20 or later with npm" >&2
  exit 1
fi
# Installed from the lockfile; again only when it changed.
stamp=node_modules/.carrel-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$stamp"
fi
export CARREL_BINARY="$root/build/release/carrel"
if [ "${1:-}" = --screenshots ]; then
  exec node tests/screenshots.mjs
fi
if [ "${1:-}" = --bench ]; then
  exec node tests/bench.mjs
fi
node --test --test-concurrency=1 tests/*.test.mjs
