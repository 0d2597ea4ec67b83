#!/usr/bin/env bash
# The failover drill (docs/high-availability.md), run by hand as root on Debian 12, not by
# `make test`: etcd, two PostgreSQL 15 nodes managed by Patroni with synchronous replication, and
# two `carrel serve` processes on one library there, all on loopback. Checkouts run against both
# servers; after a while the primary (its Patroni and its PostgreSQL) is killed with SIGKILL, as
# when a machine is lost. The drill reports the write outage in seconds, how many answered
# checkouts were lost (the target is 0) and whether the audit log verifies.
#   scripts/failover-drill.sh [BUILD_DIR]      (default build/release)
# Figures: docs/BENCHMARKS.md, "Failover drill".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
load_seconds=${DRILL_LOAD_SECONDS:-10}  # checkouts before the kill
after_seconds=${DRILL_AFTER_SECONDS:-15}  # checkouts after the first one answered again

if [ "$(id -u)" -ne 0 ]; then
  echo "failover-drill: run as root (it starts PostgreSQL as the postgres user)" >&2
  exit 2
fi
if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null; then
  echo "failover-drill: installing patroni and etcd-server (Debian packages)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q patroni etcd-server >/dev/null
fi
# The packages' own services are not used.
pkill -x etcd 2>/dev/null || true
[ -x "$build/carrel" ] || { echo "failover-drill: no $build/carrel (make build-release)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-drill.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  pkill -9 -f "$work/" 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "${DRILL_KEEP:-}" ]; then echo "failover-drill: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {  # SECONDS COMMAND...: until the command succeeds
  local limit=$1
  shift
  for _ in $(seq 1 $((limit * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
etcd_client=$(free_port)
etcd_peer=$(free_port)
echo "failover-drill: etcd on 127.0.0.1:$etcd_client" >&2
etcd --name drill --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_client" \
  --advertise-client-urls "http://127.0.0.1:$etcd_client" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "drill=http://127.0.0.1:$etcd_peer" >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_for 20 curl -sf "http://127.0.0.1:$etcd_client/health"

declare -A pg_port rest_port
for node in node1 node2; do
  pg_port[$node]=$(free_port)
  rest_port[$node]=$(free_port)
  mkdir -p "$work/$node"
  cat >"$work/$node.yml" <<YAML
scope: carrel-drill
namespace: /carrel-drill/
name: $node
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:${rest_port[$node]}
  connect_address: 127.0.0.1:${rest_port[$node]}
etcd3:
  hosts: 127.0.0.1:$etcd_client
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 1
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        synchronous_commit: "on"
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 5
        max_replication_slots: 5
        wal_log_hints: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:${pg_port[$node]}
  connect_address: 127.0.0.1:${pg_port[$node]}
  data_dir: $work/$node/data
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: $work/$node/pgpass
  authentication:
    superuser: {username: postgres, password: "$password"}
    replication: {username: replicator, password: "$password"}
  parameters:
    unix_socket_directories: $work/$node
    fsync: "on"
YAML
done
chown -R postgres:postgres "$work/etcd" "$work/node1" "$work/node2" "$work/node1.yml" "$work/node2.yml"

start_patroni() {  # NODE
  runuser -u postgres -- patroni "$work/$1.yml" >>"$work/$1.log" 2>&1 &
  pids+=($!)
}
echo "failover-drill: two Patroni nodes (PostgreSQL on ${pg_port[node1]} and ${pg_port[node2]})" >&2
start_patroni node1
wait_for 60 curl -sf "http://127.0.0.1:${rest_port[node1]}/primary" ||
  { echo "failover-drill: node1 did not become primary; see $work/node1.log" >&2; tail -20 "$work/node1.log" >&2; exit 1; }
start_patroni node2
wait_for 90 curl -sf "http://127.0.0.1:${rest_port[node2]}/sync" ||
  { echo "failover-drill: node2 is not a synchronous standby; see its log" >&2; tail -20 "$work/node2.log" >&2; exit 1; }

export PGPASSFILE="$work/pgpass"
for node in node1 node2; do echo "127.0.0.1:${pg_port[$node]}:*:postgres:$password"; done >"$PGPASSFILE"
chmod 600 "$PGPASSFILE"
admin="host=127.0.0.1 port=${pg_port[node1]} user=postgres dbname=postgres"
for db in records keys; do psql "$admin" -qtAc "CREATE DATABASE $db TEMPLATE template0"; done
both="host=127.0.0.1,127.0.0.1 port=${pg_port[node1]},${pg_port[node2]} user=postgres"
both="$both target_session_attrs=read-write connect_timeout=3"

echo "failover-drill: a library on the cluster, two carrel servers" >&2
lib="$work/library"
"$build/carrel" init --data "$lib" --database "$both dbname=records" \
  --keys-database "$both dbname=keys" >/dev/null
"$build/carrel" demo seed --data "$lib" --patrons 500 --items 20000 --loans 100 >/dev/null
serve_ports=()
for i in 1 2; do
  port=$(free_port)
  "$build/carrel" serve --data "$lib" --listen "127.0.0.1:$port" >>"$work/serve$i.log" 2>&1 &
  pids+=($!)
  wait_for 20 curl -sf "http://127.0.0.1:$port/healthz"
  serve_ports+=("$port")
done

# The primary is killed from here once the load has run for a while; the driver notes when.
kill_primary() {
  local node=node1
  curl -sf "http://127.0.0.1:${rest_port[node2]}/primary" >/dev/null 2>&1 && node=node2
  local postmaster
  postmaster=$(head -1 "$work/$node/data/postmaster.pid")
  kill -9 $(pgrep -f "patroni $work/$node.yml") "$postmaster"
  pkill -9 -P "$postmaster" 2>/dev/null || true
  echo "$node"
}

echo "failover-drill: checkouts for ${load_seconds} s, then SIGKILL to the primary" >&2
DRILL_PORTS="${serve_ports[*]}" DRILL_LOAD=$load_seconds DRILL_AFTER=$after_seconds \
  DRILL_KILL_FILE="$work/kill" DRILL_RESULT="$work/result.json" python3 - <<'PYTHON' &
import http.client, json, os, threading, time

ports = [int(p) for p in os.environ["DRILL_PORTS"].split()]
load, after = float(os.environ["DRILL_LOAD"]), float(os.environ["DRILL_AFTER"])

def call(port, method, path, body=None, token=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError:
        return -1, b""
    finally:
        conn.close()

tokens = {}
for p in ports:
    status, body = call(p, "POST", "/api/v1/session",
                        {"username": "desk", "password": "westport-demo-2026"})
    tokens[p] = json.loads(body)["token"]

lock = threading.Lock()
next_item = [1000]
answered, failures = [], []  # (time, item)
start = time.monotonic()
killed_at = [None]
first_after = [None]

def worker(n):
    port = ports[n % len(ports)]
    patron = n + 1
    while True:
        now = time.monotonic()
        if first_after[0] is not None and now > first_after[0] + after:
            return
        if now - start > load + 120:
            return
        with lock:
            next_item[0] += 1
            item = "3100%010d" % next_item[0]
        patron = patron % 400 + 1
        sent = time.monotonic()
        status, _ = call(port, "POST", "/api/v1/loans",
                         {"item_barcode": item, "card_barcode": "2100%010d" % patron},
                         tokens[port], timeout=10)
        t = time.monotonic()
        with lock:
            if status == 201:
                answered.append((t, item))
                # The first checkout sent after the kill and answered: writes are back.
                if killed_at[0] is not None and sent > killed_at[0] and first_after[0] is None:
                    first_after[0] = t
            elif status != 409:
                failures.append((t, status))
        if killed_at[0] is None and t - start > load:
            with lock:
                if killed_at[0] is None:
                    open(os.environ["DRILL_KILL_FILE"], "w").close()
                    while not os.path.exists(os.environ["DRILL_KILL_FILE"] + ".done"):
                        time.sleep(0.01)
                    killed_at[0] = time.monotonic()

threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
before = [t for t, _ in answered if killed_at[0] is not None and t <= killed_at[0]]
result = {
    "answered": len(answered),
    "answered_before_kill": len(before),
    "failed_requests": len(failures),
    "outage_seconds": (first_after[0] - killed_at[0]) if first_after[0] and killed_at[0] else None,
    "items": [item for _, item in answered],
}
json.dump(result, open(os.environ["DRILL_RESULT"], "w"))
PYTHON
driver=$!
while [ ! -f "$work/kill" ]; do
  if ! kill -0 "$driver" 2>/dev/null; then echo "failover-drill: the load stopped early" >&2; exit 1; fi
  sleep 0.05
done
killed=$(kill_primary)
touch "$work/kill.done"
echo "failover-drill: killed $killed (Patroni and PostgreSQL, SIGKILL)" >&2
wait "$driver"

echo "failover-drill: checking every answered checkout on the new primary" >&2
port=${serve_ports[0]}
result=$(DRILL_RESULT="$work/result.json" DRILL_PORT=$port python3 - <<'PYTHON'
import http.client, json, os
r = json.load(open(os.environ["DRILL_RESULT"]))
port = int(os.environ["DRILL_PORT"])
def call(method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    resp = conn.getresponse()
    return resp.status, resp.read()
status, body = call("POST", "/api/v1/session",
                    {"username": "desk", "password": "westport-demo-2026"})
if status != 201:
    raise SystemExit("failover-drill: cannot log in after the failover: %d %s" % (status, body[:200]))
token = json.loads(body)["token"]
lost = 0
for item in r["items"]:
    status, body = call("GET", "/api/v1/items/" + item, token=token)
    if status != 200 or json.loads(body)["status"] != "on_loan":
        lost += 1
del r["items"]
r["lost"] = lost
print(json.dumps(r))
PYTHON
)
pkill -TERM -f "$build/carrel serve --data $lib" 2>/dev/null || true
sleep 1
audit_key=$("$build/carrel" audit key --data "$lib" | head -1)
if "$build/carrel" audit verify --data "$lib" --key "$audit_key" >"$work/verify.log" 2>&1; then
  verified=yes
else
  verified=no
fi
echo "$result" | DRILL_VERIFIED=$verified DRILL_LOAD=$load_seconds python3 -c '
import json, os, sys
r = json.load(sys.stdin)
r["verified"] = os.environ["DRILL_VERIFIED"]
r["load_seconds"] = float(os.environ["DRILL_LOAD"])
json.dump(r, sys.stdout)
' >"$work/final.json"
python3 "$root/scripts/bench_splice.py" failover_drill_section "$work/final.json" \
  "$root/docs/BENCHMARKS.md" "scripts/failover-drill.sh" \
  "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" "$(date -Iseconds)"
echo "failover-drill: figures written to docs/BENCHMARKS.md" >&2
echo "$result" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("failover drill: %d checkouts answered (%d before the kill), %d requests failed during the outage"
      % (r["answered"], r["answered_before_kill"], r["failed_requests"]))
print("failover drill: write outage %.1f s (SIGKILL to the first answered checkout)" % r["outage_seconds"]
      if r["outage_seconds"] is not None else "failover drill: writes did not come back")
print("failover drill: answered checkouts lost: %d" % r["lost"])
'
echo "failover drill: audit log verifies: $verified"
[ "$verified" = yes ] || cat "$work/verify.log" >&2
