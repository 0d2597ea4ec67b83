#!/usr/bin/env bash
# carrel on PostgreSQL, measured (docs/BENCHMARKS.md, "PostgreSQL"): a durable PostgreSQL 15 of
# its own (fsync and synchronous commit on), a seeded library on it, checkouts and checkins over
# HTTP with one `carrel serve` and with two on the same database, next to the bare engines'
# single-row durable transactions in the same run (pgbench through libpq; SQLite in WAL mode
# with synchronous=FULL), and the same loads on an SQLite copy of the library.
#   scripts/bench-postgres.sh BUILD_DIR OUT_JSON
set -euo pipefail
build=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${CARREL_BENCH_HTTP_SECONDS:-15}
patrons=${CARREL_BENCH_PG_PATRONS:-5000}
items=${CARREL_BENCH_PG_ITEMS:-20000}
loans=${CARREL_BENCH_PG_LOANS:-50000}
work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-bench-pg.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/scripts/postgres-test-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: postgresql: a durable server of its own" >&2
CARREL_PG_DURABLE=1 "$root/scripts/postgres-test-cluster.sh" start "$work/pg" >&2
admin=$(cat "$work/pg/conninfo")
export PGPASSFILE="$work/pg/passfile"
for db in bare records keys; do psql "$admin" -qtAc "CREATE DATABASE $db TEMPLATE template0"; done

# The bare engines: one row per durable transaction, one client.
psql "$admin dbname=bare" -qtAc "CREATE TABLE t (id bigserial PRIMARY KEY, v bigint NOT NULL)"
echo 'INSERT INTO t (v) VALUES (1);' >"$work/insert.sql"
port=$(sed -E 's/.*port=([0-9]+).*/\1/' "$work/pg/conninfo")
echo "bench: postgresql: pgbench, one client, one row per transaction, $seconds s" >&2
pg_tps=$(/usr/lib/postgresql/15/bin/pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c 1 -j 1 \
  -T "$seconds" -f "$work/insert.sql" bare 2>/dev/null | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
sqlite_tps=$(SECONDS_EACH=$seconds DB="$work/bare.db" python3 - <<'PYTHON'
import os, sqlite3, time
db = sqlite3.connect(os.environ["DB"], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
n, end = 0, time.monotonic() + float(os.environ["SECONDS_EACH"])
while time.monotonic() < end:
    db.execute("BEGIN IMMEDIATE"); db.execute("INSERT INTO t (v) VALUES (1)"); db.execute("COMMIT")
    n += 1
print(n / float(os.environ["SECONDS_EACH"]))
PYTHON
)

echo "bench: postgresql: a library of $patrons patrons, $items items, $loans loans" >&2
lib="$work/library"
"$build/carrel" init --data "$lib" --database "$admin dbname=records" \
  --keys-database "$admin dbname=keys" >/dev/null
"$build/carrel" demo seed --data "$lib" --patrons "$patrons" --items "$items" --loans "$loans" \
  >/dev/null
"$build/carrel" retention run --data "$lib" >/dev/null
"$build/carrel" backup --data "$lib" --out "$work/records.bak" >/dev/null
"$build/carrel" backup-keys --data "$lib" --out "$work/keys.bak" >/dev/null

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
serve() {  # DATA -> sets served_port, appends to pids
  served_port=$(free_port)
  "$build/carrel" serve --data "$1" --listen "127.0.0.1:$served_port" >>"$work/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$served_port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
}
token_for() {
  curl -s -X POST "http://127.0.0.1:$1/api/v1/session" -H 'Content-Type: application/json' \
    -d '{"username":"desk","password":"westport-demo-2026"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}
cpu_sample() {  # SERVE_PID: processor seconds of that carrel serve, of every postgres process, idle
  python3 - "$1" <<'PYTHON'
import json, os, sys
tick = os.sysconf("SC_CLK_TCK")
def cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
postgres = 0.0
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        if open(f"/proc/{p}/comm").read().strip() == "postgres":
            postgres += cpu(p)
    except OSError:
        pass
times = [int(v) / tick for v in open("/proc/stat").readline().split()[1:]]
print(json.dumps({"carrel": cpu(sys.argv[1]), "postgres": postgres, "idle": times[3],
                  "total": sum(times[:8])}))
PYTHON
}
load() {  # NAME PORT TOKEN THREADS FIRST_ITEM
  "$build/carrel_http_load" --port "$2" --token "$3" --threads "$4" --seconds "$seconds" \
    --items "$items" --patrons "$patrons" --first-item "$5" --logins 0 >"$work/$1.json"
}

for engine in postgresql sqlite; do
  if [ "$engine" = sqlite ]; then
    # The same library as SQLite files, from its backups.
    lib="$work/sqlite-library"
    "$build/carrel" init --data "$lib" >/dev/null
    cp "$work/library/master.key" "$lib/master.key"  # the keys' backup opens with it alone
    "$build/carrel" restore --data "$lib" --from "$work/records.bak" --keys "$work/keys.bak" \
      >/dev/null
  fi
  serve "$lib"; a=$served_port
  ta=$(token_for "$a")
  for threads in 8 64; do
    echo "bench: $engine: one server, $threads connections, $seconds s" >&2
    if [ "$threads" = 8 ]; then cpu_sample "${pids[-1]}" >"$work/cpu-before"; fi
    load "$engine-one-$threads" "$a" "$ta" "$threads" 1
    if [ "$threads" = 8 ]; then
      cpu_sample "${pids[-1]}" >"$work/cpu-after"
      python3 - "$work/cpu-before" "$work/cpu-after" "$work/$engine-one-8.json" \
        >"$work/cpu-$engine.json" <<'PYTHON'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
n = json.load(open(sys.argv[3]))["requests_ok"] or 1
span = b["total"] - a["total"]
print(json.dumps({"carrel_ms": 1000 * (b["carrel"] - a["carrel"]) / n,
                  "postgres_ms": 1000 * (b["postgres"] - a["postgres"]) / n,
                  "idle_share": (b["idle"] - a["idle"]) / span if span > 0 else 0}))
PYTHON
    fi
  done
  if [ "$engine" = postgresql ]; then
    serve "$lib"; b=$served_port
    tb=$(token_for "$b")
    for threads in 8 64; do
      half=$((threads / 2))
      echo "bench: $engine: two servers, $half connections each, $seconds s" >&2
      load "$engine-two-$threads-a" "$a" "$ta" "$half" 1 &
      first=$!
      load "$engine-two-$threads-b" "$b" "$tb" "$half" $((items / 2 + 1))
      wait "$first"
    done
  fi
  stop_all
done

WORK="$work" OUT="$out" PG_TPS="$pg_tps" SQLITE_TPS="$sqlite_tps" SECONDS_EACH="$seconds" \
PATRONS="$patrons" ITEMS="$items" LOANS="$loans" python3 - <<'PYTHON'
import glob, json, os
env = os.environ
figures = {"bare_postgresql_tps": float(env["PG_TPS"] or 0),
           "bare_sqlite_tps": float(env["SQLITE_TPS"] or 0),
           "seconds_each": float(env["SECONDS_EACH"]),
           "patrons": int(env["PATRONS"]), "items": int(env["ITEMS"]), "loans": int(env["LOANS"])}
for path in glob.glob(os.path.join(env["WORK"], "*.json")):
    with open(path) as f:
        figures[os.path.basename(path)[:-5]] = json.load(f)
with open(env["OUT"], "w") as f:
    json.dump(figures, f, indent=1)
PYTHON
