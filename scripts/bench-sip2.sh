#!/usr/bin/env bash
# The SIP2 benchmark (docs/sip2.md): a seeded library served by `carrel serve --sip2` on
# loopback, kiosks made and approved as a library would (the administrator creates them, the
# Director approves them, each chooses its own password), and carrel_sip2_load driving them:
#   - one kiosk lending to a patron who has 1 loan out, then to one who has 500 out;
#   - 50 kiosks at once, each with its own account and items.
# Beside it, the bare durable single-row SQLite transaction rate of this run (carrel_bench).
# Called by scripts/bench.sh:
#   scripts/bench-sip2.sh BUILD_DIR OUT_JSON
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: scripts/bench-sip2.sh BUILD_DIR OUT_JSON" >&2
  exit 2
fi
build=$1
out=$2
seconds=${CARREL_BENCH_SIP2_SECONDS:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-bench-sip2.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: sip2: a library of 2,000 patrons and 8,000 items" >&2
"$build/carrel" init --data "$work/lib" >/dev/null
"$build/carrel" demo seed --data "$work/lib" --patrons 2000 --items 8000 --loans 20000 >/dev/null
"$build/carrel" serve --data "$work/lib" --listen 127.0.0.1:0 --sip2 127.0.0.1:0 \
  --logins-per-minute 1000 \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 1 100); do
  grep -q "SIP2 for kiosks" "$work/serve.out" 2>/dev/null && break
  sleep 0.1
done
http_port=$(sed -n 's/.*http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$work/serve.out")
sip2_port=$(sed -n 's/.*SIP2 for kiosks at 127.0.0.1:\([0-9]*\),.*/\1/p' "$work/serve.out")

echo "bench: sip2: 50 kiosk accounts created, approved and given their own passwords" >&2
HTTP_PORT="$http_port" python3 - <<'PYTHON'
import json
import os
import sys
import urllib.error
import urllib.request

base = f"http://127.0.0.1:{os.environ['HTTP_PORT']}"
demo = "westport-demo-2026"


def call(method, path, token=None, body=None, ok=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        if e.code in ok:
            raise
        return e.code, json.loads(e.read() or b"{}")


def login(user, password):
    return call("POST", "/api/v1/session", body={"username": user, "password": password})[1]["token"]


def item(n):
    return f"3100{n:010d}"


def card(n):
    return f"2100{n:010d}"


admin, director, desk = login("demo-admin", demo), login("demo-director", demo), login("desk", demo)
for k in range(50):
    name = f"bench-kiosk-{k}"
    status, user = call("POST", "/api/v1/users", admin,
                        {"username": name, "role": "kiosk", "password": "first-password-1",
                         "location": f"Bench kiosk {k}"})
    assert status == 201, user
    status, done = call("POST", f"/api/v1/users/{user['id']}/approve", director, {"password": demo})
    assert status == 200, done
    token = login(name, "first-password-1")
    status, done = call("POST", "/api/v1/session/password", token,
                        {"password": "first-password-1", "new_password": "kiosk-password-1"})
    assert status == 200, done
# Items of the bench's own, on the shelf: 2,080 for the kiosks, 501 lent at the desk.
def add_item(n):
    status, made = call("POST", "/api/v1/items", desk,
                        {"barcode": item(n), "title": f"Bench title {n}", "item_type": "book"})
    assert status == 201, made


for n in list(range(900001, 900001 + 50 * 40 + 80)) + list(range(800001, 800502)):
    add_item(n)
# Patron 2 has 1 loan out, patron 3 has 500; patron 4 borrows at all 50 kiosks.
for who in (2, 3, 4):
    status, found = call("POST", "/api/v1/patrons/search", desk, {"card_barcode": card(who)})
    pid = found["patrons"][0]["id"]
    status, loans = call("GET", f"/api/v1/patrons/{pid}/loans?limit=1000", desk)
    for loan in loans["loans"]:
        call("POST", "/api/v1/loans/checkin", desk, {"item_barcode": loan["item_barcode"]})
lend = [(800501, 2)] + [(n, 3) for n in range(800001, 800501)]
for n, who in lend:
    status, loan = call("POST", "/api/v1/loans", desk, {"item_barcode": item(n), "card_barcode": card(who)})
    assert status == 201, loan
PYTHON

load() {
  "$build/carrel_sip2_load" --port "$sip2_port" --password kiosk-password-1 --pin 246810 \
    --seconds "$seconds" "$@"
}
echo "bench: sip2: one kiosk, a patron with 1 loan" >&2
load --kiosks 1 --username bench-kiosk-0 --card 21000000000002 --items 900001,40 >"$work/one.json"
echo "bench: sip2: one kiosk, a patron with 500 loans" >&2
load --kiosks 1 --username bench-kiosk-1 --card 21000000000003 --items 900041,40 >"$work/many.json"
echo "bench: sip2: 50 kiosks at once" >&2
load --kiosks 50 --per-kiosk-users --username bench-kiosk --card 21000000000004 \
  --items 900001,40 >"$work/fifty.json"
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
kill "$server"
wait "$server" 2>/dev/null || true
server=""

echo "bench: sip2: $build/carrel_bench (bare durable transaction)" >&2
TMPDIR="$work" "$build/carrel_bench" --benchmark_filter='^BM_BareDurableTransaction' \
  --benchmark_repetitions=9 --benchmark_out="$work/bare.json" --benchmark_out_format=json \
  >/dev/null
WORK="$work" OUT="$out" RSS="$rss_kib" python3 - <<'PYTHON'
import json
import os

w = os.environ["WORK"]


def read(name):
    with open(os.path.join(w, name)) as f:
        return json.load(f)


bare = read("bare.json")
median = [b for b in bare["benchmarks"] if b.get("aggregate_name") == "median"][0]
figures = {"one_loan": read("one.json"), "many_loans": read("many.json"),
           "fifty": read("fifty.json"), "bare_per_second": median["items_per_second"],
           "server_peak_mib": int(os.environ["RSS"]) / 1024, "loans_out": 500}
with open(os.environ["OUT"], "w") as f:
    json.dump(figures, f, indent=1)
PYTHON
