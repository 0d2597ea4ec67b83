#!/usr/bin/env bash
# Installs the npm packages of DIR from its lockfile (npm ci), again only when the lockfile
# changed since the last install. Used by the OpenAPI lint and the browser tests.
set -euo pipefail
cd "$1"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "carrel: $1 needs Node.js 20.19 or later with npm" >&2
  exit 1
fi
stamp=node_modules/.carrel-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$stamp"
fi
