#!/usr/bin/env bash
# The HTTP part of carrel's benchmarks: `carrel serve` on a seeded library, driven over loopback
# by carrel_http_load in its own process (bounded in count and time). Called by scripts/bench.sh:
#   scripts/bench-http.sh BUILD_DIR LIBRARY_DIR ITEMS PATRONS OUT_JSON
# Writes one JSON object with every figure to OUT_JSON. When CARREL_BENCH_BASELINE names another
# `carrel` binary (an earlier carrel, to compare with), the closed-loop loads also run against it
# on a copy of the same library, in the same run.
set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: scripts/bench-http.sh BUILD_DIR LIBRARY_DIR ITEMS PATRONS OUT_JSON" >&2
  exit 2
fi
build=$1
library=$2
items=$3
patrons=$4
out=$5
seconds=${CARREL_BENCH_HTTP_SECONDS:-20}
# Paced loads at 64 connections: 10 and 17 requests a second per connection, and 2,170 in all,
# the closed-loop rate at 64 connections measured before the server moved to Boost.Beast
# (cpp-httplib 0.11.4).
paced_rates=${CARREL_BENCH_HTTP_PACED_RATES:-640 1085 2170}
work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-bench-http.XXXXXX")
serve_pid=
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts BINARY serve on DATA; sets port, serve_pid and token.
start_server() {
  local binary=$1 data=$2
  port=$(free_port)
  "$binary" serve --data "$data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  sleep 2
  token=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/session" \
    -H 'Content-Type: application/json' -d '{"username":"desk","password":"westport-demo-2026"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
}

stop_server() {
  kill "$serve_pid"
  wait "$serve_pid" || true
  serve_pid=
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$serve_pid/status"; }

circulation() {  # NAME THREADS [RATE]
  local name=$1 threads=$2 rate=${3:-0}
  local pace="closed loop"
  [ "$rate" != 0 ] && pace="$rate requests/s"
  echo "bench: http $name: $threads connections, $pace, $seconds s" >&2
  "$build/carrel_http_load" --port "$port" --token "$token" --threads "$threads" \
    --rate "$rate" --seconds "$seconds" --items "$items" --patrons "$patrons" --logins 0 \
    >"$work/$name.json"
}

# The seeded library's history is due for retention (its schedule is signed), and a server that
# starts while the library is closed would apply it and clear the dead ciphertext in the
# background for minutes, in the middle of the loads. Daytime circulation is what is measured:
# the run is done first, as it would have been the night before.
echo "bench: carrel retention run (before the loads)" >&2
"$build/carrel" retention run --data "$library" >/dev/null

if [ -n "${CARREL_BENCH_BASELINE:-}" ]; then
  # The earlier carrel seeds a library of its own (same profile, sizes and seed, so the same
  # data): its schema may be older than this carrel's, and it refuses a newer database.
  echo "bench: seeding the baseline's own library with $CARREL_BENCH_BASELINE" >&2
  root=$(cd "$(dirname "$0")/.." && pwd)
  "$CARREL_BENCH_BASELINE" init --data "$work/baseline-library" \
    --profile "$root/profiles/westport/library.toml" >/dev/null
  "$CARREL_BENCH_BASELINE" demo seed --data "$work/baseline-library" --patrons "$patrons" \
    --items "$items" --loans "${CARREL_BENCH_LOANS:-1000000}" >/dev/null
  "$CARREL_BENCH_BASELINE" retention run --data "$work/baseline-library" >/dev/null
  start_server "$CARREL_BENCH_BASELINE" "$work/baseline-library"
  circulation baseline-8 8
  circulation baseline-64 64
  stop_server
  rm -rf "$work/baseline-library"
fi

start_server "$build/carrel" "$library"
rss_idle=$(rss_kib)
circulation closed-8 8
circulation closed-64 64
for rate in $paced_rates; do
  circulation "paced-64-$rate" 64 "$rate"
done
rss_load=$(rss_kib)
echo "bench: http slow: 1,000 slow connections from 10 addresses, GET /api/v1/hours 50/s" >&2
"$build/carrel_http_load" --port "$port" --slow 1000 --slow-sources 10 --rate 50 \
  --seconds "$seconds" >"$work/slow.json"
rss_slow=$(rss_kib)
echo "bench: http logins" >&2
"$build/carrel_http_load" --port "$port" --token "$token" --threads 1 --seconds 1 \
  --max-requests 1 --items "$items" --patrons "$patrons" --logins 10 --username desk \
  --password westport-demo-2026 >"$work/logins.json"
stop_server

WORK="$work" OUT="$out" RSS_IDLE="$rss_idle" RSS_LOAD="$rss_load" RSS_SLOW="$rss_slow" \
PACED_RATES="$paced_rates" SECONDS_EACH="$seconds" python3 - <<'PYTHON'
import json
import os

env = os.environ
work = env["WORK"]
figures = {"seconds_each": float(env["SECONDS_EACH"]),
           "paced_rates": [float(r) for r in env["PACED_RATES"].split()],
           "rss_idle_kib": float(env["RSS_IDLE"]), "rss_load_kib": float(env["RSS_LOAD"]),
           "rss_slow_kib": float(env["RSS_SLOW"])}
names = ["closed-8", "closed-64", "slow", "logins", "baseline-8", "baseline-64"]
names += [f"paced-64-{r}" for r in env["PACED_RATES"].split()]
for name in names:
    path = os.path.join(work, name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            figures[name] = json.load(f)
with open(env["OUT"], "w") as f:
    json.dump(figures, f, indent=1)
PYTHON
