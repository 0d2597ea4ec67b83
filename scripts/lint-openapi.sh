#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (npm @redocly/cli, pinned in tools/openapi-lint's
# lockfile). The document is written by carrel from its route table; a test keeps the copy in
# docs/ current, and this keeps it valid OpenAPI 3.1 under Redocly's strict recommended rules.
set -euo pipefail
cd "$(dirname "$0")/../tools/openapi-lint"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "carrel: the OpenAPI lint needs Node.js 20.19 or later with npm" >&2
  exit 1
fi
# Installed from the lockfile, again only when the lockfile changed since the last install.
stamp=node_modules/.carrel-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > "$stamp"
fi
# Redocly asks its telemetry service nothing when told not to.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  npx --no-install redocly lint --config redocly.yaml --format stylish ../../docs/openapi.yaml
