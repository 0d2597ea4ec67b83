#!/usr/bin/env bash
# Lints docs/openapi.yaml with Redocly CLI (npm @redocly/cli, pinned in tools/openapi-lint's
# lockfile). The document is written by carrel from its route table; a test keeps the copy in
# docs/ current, and this keeps it valid OpenAPI 3.1 under Redocly's strict recommended rules.
set -euo pipefail
here="$(dirname "$0")"
"$here/npm-install-locked.sh" "$here/../tools/openapi-lint"
cd "$here/../tools/openapi-lint"
# Redocly asks its telemetry service nothing when told not to.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  npx --no-install redocly lint --config redocly.yaml --format stylish ../../docs/openapi.yaml
