#!/usr/bin/env bash
# Runs carrel's benchmarks and writes docs/BENCHMARKS.md; `make bench` calls it as
#   scripts/bench.sh build/release
# Library sizes: CARREL_BENCH_PATRONS (100000), CARREL_BENCH_ITEMS (200000) and
# CARREL_BENCH_LOANS (1000000); the blind-index lookup library, CARREL_BENCH_LOOKUP_PATRONS
# (1000000) patrons looked up CARREL_BENCH_LOOKUPS (20000) times each way; the audit log,
# CARREL_BENCH_AUDIT_ENTRIES (10000000) entries, built through a CARREL_BENCH_AUDIT_CACHE_MIB
# (1024) MiB SQLite page cache; retention, CARREL_BENCH_RETENTION_ROWS (10000000) returned
# loans (and, on that library, extracting one patron's records for a disclosure:
# CARREL_BENCH_PARTS=retention measures those two sections alone). Scratch data goes under $TMPDIR
# (default /tmp). CARREL_BENCH_PARTS=koha measures the Koha import alone (sizes in
# scripts/bench-koha.sh). CARREL_BENCH_PARTS=sip2 measures SIP2 kiosks alone
# (scripts/bench-sip2.sh). CARREL_BENCH_PARTS=http measures the
# HTTP section alone and puts it in place in the document; CARREL_BENCH_BASELINE=BINARY also
# runs the HTTP closed loads against an earlier carrel, for comparison (name it in the document
# with CARREL_BENCH_BASELINE_NAME, e.g. "carrel-1a6fe2d", never a path of this machine, and the
# least share of its rate that passes with CARREL_BENCH_BASELINE_GOAL, default 1.0).
# Exits non-zero when a benchmark fails to run; a missed target is reported in the document.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: scripts/bench.sh BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/docs/BENCHMARKS.md"
patrons=${CARREL_BENCH_PATRONS:-100000}
items=${CARREL_BENCH_ITEMS:-200000}
loans=${CARREL_BENCH_LOANS:-1000000}
export CARREL_BENCH_LOANS=$loans  # scripts/bench-http.sh seeds a baseline's library alike
lookup_patrons=${CARREL_BENCH_LOOKUP_PATRONS:-1000000}
lookups=${CARREL_BENCH_LOOKUPS:-20000}
audit_entries=${CARREL_BENCH_AUDIT_ENTRIES:-10000000}
retention_rows=${CARREL_BENCH_RETENTION_ROWS:-10000000}
export CARREL_BENCH_PATRONS=$patrons CARREL_BENCH_ITEMS=$items CARREL_BENCH_LOANS=$loans
export CARREL_BENCH_LOOKUP_PATRONS=$lookup_patrons CARREL_BENCH_LOOKUPS=$lookups
export CARREL_BENCH_AUDIT_ENTRIES=$audit_entries CARREL_BENCH_RETENTION_ROWS=$retention_rows

for binary in carrel carrel_bench carrel_scale_bench carrel_http_load; do
  if [ ! -x "$build/$binary" ]; then
    echo "bench: $build/$binary is missing; build it first" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# CARREL_BENCH_PARTS=retention (or disclosure): the retention benchmark's library
# (CARREL_BENCH_RETENTION_ROWS), its retention and disclosure sections put in place.
if [ "${CARREL_BENCH_PARTS:-all}" = retention ] || [ "${CARREL_BENCH_PARTS:-all}" = disclosure ]; then
  echo "bench: $build/carrel_scale_bench retention ($retention_rows returned loans), for the disclosure" >&2
  TMPDIR="$work" "$build/carrel_scale_bench" retention --dir "$work/retention" \
    --json "$work/retention.json"
  rm -rf "$work/retention"
  command="CARREL_BENCH_PARTS=$CARREL_BENCH_PARTS make bench"
  if [ "$retention_rows" != 10000000 ]; then
    command="CARREL_BENCH_RETENTION_ROWS=$retention_rows $command"
  fi
  source=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
  measured=$(date -Iseconds)
  for part in bench_retention_section bench_disclosure_section; do
    python3 "$root/scripts/bench_splice.py" "$part" "$work/retention.json" "$out" \
      "$command" "$source" "$measured"
  done
  exit 0
fi

# CARREL_BENCH_PARTS=postgres: carrel on PostgreSQL (a durable server of its own), put in place.
bench_postgres() {
  echo "bench: carrel on PostgreSQL" >&2
  "$root/scripts/bench-postgres.sh" "$build" "$work/postgres.json"
  python3 "$root/scripts/bench_splice.py" bench_postgres_section "$work/postgres.json" "$out" \
    "$1" "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
    "$(date -Iseconds)"
}
if [ "${CARREL_BENCH_PARTS:-all}" = postgres ]; then
  bench_postgres "CARREL_BENCH_PARTS=postgres make bench"
  exit 0
fi

# CARREL_BENCH_PARTS=koha: the Koha import (scripts/bench-koha.sh), put in place.
bench_koha() {
  "$root/scripts/bench-koha.sh" "$build" "$work/koha.json"
  local command=$1
  for size in PATRONS ITEMS HISTORY LOANS FINES; do
    local var="CARREL_BENCH_KOHA_$size"
    if [ -n "${!var:-}" ]; then command="$var=${!var} $command"; fi
  done
  python3 "$root/scripts/bench_splice.py" bench_koha_section "$work/koha.json" "$out" \
    "$command" "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
    "$(date -Iseconds)"
}
if [ "${CARREL_BENCH_PARTS:-all}" = koha ]; then
  bench_koha "CARREL_BENCH_PARTS=koha make bench"
  exit 0
fi

# CARREL_BENCH_PARTS=sip2: SIP2 kiosks (scripts/bench-sip2.sh), put in place.
bench_sip2() {
  "$root/scripts/bench-sip2.sh" "$build" "$work/sip2.json"
  python3 "$root/scripts/bench_splice.py" bench_sip2_section "$work/sip2.json" "$out" \
    "$1" "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
    "$(date -Iseconds)"
}
if [ "${CARREL_BENCH_PARTS:-all}" = sip2 ]; then
  bench_sip2 "CARREL_BENCH_PARTS=sip2 make bench"
  exit 0
fi

# CARREL_BENCH_PARTS=web: the web UI's section alone (Chromium), put in place in the document.
if [ "${CARREL_BENCH_PARTS:-all}" = web ]; then
  echo "bench: the web UI in Chromium" >&2
  "$root/scripts/browser-tests.sh" --bench >"$work/web.json"
  python3 "$root/scripts/bench_splice.py" bench_web_section "$work/web.json" "$out" \
    "CARREL_BENCH_PARTS=web make bench" \
    "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" "$(date -Iseconds)"
  exit 0
fi

# Whole process: a fresh library seeded by the CLI (encryption and audit on, as always), wall
# clock from start to exit.
echo "bench: carrel demo seed --patrons $patrons --items $items --loans $loans" >&2
"$build/carrel" init --data "$work/seeded" >/dev/null
seed_start=$(date +%s.%N)
"$build/carrel" demo seed --data "$work/seeded" --patrons "$patrons" --items "$items" \
  --loans "$loans" >"$work/seed.txt"
seed_end=$(date +%s.%N)
seed_db_bytes=$(stat -c %s "$work/seeded/carrel.db")

# CARREL_BENCH_PARTS=http: the HTTP section alone, with the bare durable transaction rate of this
# run to compare with, put in place of the document's HTTP section.
if [ "${CARREL_BENCH_PARTS:-all}" = http ]; then
  "$root/scripts/bench-http.sh" "$build" "$work/seeded" "$items" "$patrons" "$work/http.json"
  echo "bench: $build/carrel_bench (bare durable transaction only)" >&2
  TMPDIR="$work" "$build/carrel_bench" --benchmark_filter='^BM_BareDurableTransaction' \
    --benchmark_repetitions=9 --benchmark_out="$work/bare.json" --benchmark_out_format=json \
    >/dev/null
  echo "bench: $build/carrel_bench (the API contract checks)" >&2
  "$build/carrel_bench" --benchmark_filter='^BM_Validate' --benchmark_repetitions=9 \
    --benchmark_out="$work/contract.json" --benchmark_out_format=json >/dev/null
  BENCH_CONTRACT_JSON="$work/contract.json" \
  BENCH_HTTP_JSON="$work/http.json" BENCH_BARE_JSON="$work/bare.json" BENCH_OUT="$out" \
  BENCH_SCRIPTS="$root/scripts" BENCH_BASELINE="${CARREL_BENCH_BASELINE_NAME:-}" \
  BENCH_BASELINE_GOAL="${CARREL_BENCH_BASELINE_GOAL:-1.0}" \
  BENCH_SOURCE="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
  BENCH_DATE="$(date -Iseconds)" BENCH_LOAD="$(cut -d ' ' -f 1-3 /proc/loadavg)" \
  BENCH_LIBRARY="$patrons patrons, $items items, $loans returned loans" python3 - <<'PYTHON'
import json
import os
import sys

env = os.environ
sys.path.insert(0, env["BENCH_SCRIPTS"])
from bench_http_section import section, splice  # noqa: E402
import bench_contract_section as contract  # noqa: E402

with open(env["BENCH_HTTP_JSON"]) as f:
    http = json.load(f)
with open(env["BENCH_BARE_JSON"]) as f:
    run = json.load(f)
median = [b for b in run["benchmarks"] if b.get("aggregate_name") == "median"][0]
bare = median["items_per_second"]
command = "CARREL_BENCH_PARTS=http make bench"
if env.get("BENCH_BASELINE"):
    command = f"CARREL_BENCH_BASELINE={env['BENCH_BASELINE']} " + command
    if float(env.get("BENCH_BASELINE_GOAL") or 1.0) != 1.0:
        command = f"CARREL_BENCH_BASELINE_GOAL={env['BENCH_BASELINE_GOAL']} " + command
note = (f"This section alone was measured again by `{command}` on "
        f"{env['BENCH_DATE']} at `{env['BENCH_SOURCE']}` (library: {env['BENCH_LIBRARY']}; load "
        f"average at the end {env['BENCH_LOAD']}), with the bare durable single-row transaction "
        f"measured in that run ({bare:,.0f}/s, median of 9); the other sections are from the "
        "whole run above.")
with open(env["BENCH_OUT"]) as f:
    document = f.read()
with open(env["BENCH_CONTRACT_JSON"]) as f:
    checks = json.load(f)["benchmarks"]
baseline = env.get("BENCH_BASELINE") or "the previous server"
goal = float(env.get("BENCH_BASELINE_GOAL") or 1.0)
document = splice(document, section(http, bare, note, baseline, goal))
document = contract.splice(document, contract.section(
    checks, f"Measured by `{command}` on {env['BENCH_DATE']} at `{env['BENCH_SOURCE']}` "
            "(median of 9)." + (f" The baseline, {baseline}, is the earlier carrel measured in "
                                "the same run (HTTP section)." if env.get("BENCH_BASELINE") else "")))
with open(env["BENCH_OUT"], "w") as f:
    f.write(document)
print(f"bench: wrote the HTTP and contract sections of {env['BENCH_OUT']}", file=sys.stderr)
PYTHON
  exit 0
fi
# The HTTP API under load (scripts/bench-http.sh): closed loads at 8 and 64 connections, a paced
# load, slow clients.
"$root/scripts/bench-http.sh" "$build" "$work/seeded" "$items" "$patrons" "$work/http.json"
rm -rf "$work/seeded"

# The web UI in Chromium (web/tests/bench.mjs): scan-to-confirmation at the desk, first load.
echo "bench: the web UI in Chromium" >&2
"$root/scripts/browser-tests.sh" --bench >"$work/web.json"

# In-process and bare SQLite suites: console output to the terminal, figures to JSON. The
# repetitions run in random order so that a slow spell of the disk does not land on one
# benchmark only; the document reports their median.
sync
repetitions=25
echo "bench: $build/carrel_bench" >&2
TMPDIR="$work" "$build/carrel_bench" --benchmark_repetitions=$repetitions \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$work/bench.json" --benchmark_out_format=json

# One-shot measurements on large scratch data: barcode lookups through the blind index on a
# library of $lookup_patrons patrons, and an audit log of $audit_entries entries verified
# in-process and hashed raw. The lookup library and the log are built side by side, one on each
# core, to keep the run short; only then is anything measured on them. The log is kept for the
# whole-process `carrel audit verify` below.
sync
echo "bench: building the lookup library ($lookup_patrons patrons) and the audit log" \
  "($audit_entries entries) side by side" >&2
TMPDIR="$work" "$build/carrel_scale_bench" audit-build --dir "$work/audit" \
  --json "$work/audit-build.json" &
audit_build=$!
if ! TMPDIR="$work" "$build/carrel_scale_bench" lookup-seed --dir "$work/lookup" \
  --json "$work/lookup-seed.json"; then
  kill "$audit_build" 2>/dev/null || true
  wait "$audit_build" 2>/dev/null || true
  exit 1
fi
if ! wait "$audit_build"; then
  echo "bench: building the audit log failed" >&2
  exit 1
fi
sync
echo "bench: $build/carrel_scale_bench lookup" >&2
TMPDIR="$work" "$build/carrel_scale_bench" lookup --dir "$work/lookup" --json "$work/lookup.json"
rm -rf "$work/lookup"
sync
echo "bench: $build/carrel_scale_bench audit-log" >&2
TMPDIR="$work" "$build/carrel_scale_bench" audit-log --dir "$work/audit" --json "$work/audit.json"

# Whole process: `carrel audit verify` over that log, wall clock from start to exit.
echo "bench: carrel audit verify --data (the $audit_entries-entry log)" >&2
verify_start=$(date +%s.%N)
# The verifier key comes from outside the data directory in real use; the benchmark's log was
# built here, so its own copy is the right key.
audit_vkey=$(sqlite3 "$work/audit/carrel.db" \
  "SELECT value FROM library_meta WHERE key = 'audit_verifier_key'")
"$build/carrel" audit verify --data "$work/audit" --key "$audit_vkey" >"$work/verify.txt" \
  2>"$work/verify.err" || {
  cat "$work/verify.err" >&2
  echo "bench: carrel audit verify failed on the benchmark's log" >&2
  exit 1
}
verify_end=$(date +%s.%N)
rm -rf "$work/audit"

# Retention of the oldest of three years of links, against one UPDATE on a copy; then the
# background reclaim and circulation meanwhile.
sync
echo "bench: $build/carrel_scale_bench retention ($retention_rows returned loans)" >&2
TMPDIR="$work" "$build/carrel_scale_bench" retention --dir "$work/retention" \
  --json "$work/retention.json"
rm -rf "$work/retention"

# The command that reproduces this document, with any size the caller overrode.
command="make bench"
if [ "$retention_rows" != 10000000 ]; then
  command="CARREL_BENCH_RETENTION_ROWS=$retention_rows $command"
fi
if [ "$audit_entries" != 10000000 ]; then
  command="CARREL_BENCH_AUDIT_ENTRIES=$audit_entries $command"
fi
if [ "$lookups" != 20000 ]; then command="CARREL_BENCH_LOOKUPS=$lookups $command"; fi
if [ "$lookup_patrons" != 1000000 ]; then
  command="CARREL_BENCH_LOOKUP_PATRONS=$lookup_patrons $command"
fi
if [ "$loans" != 1000000 ]; then command="CARREL_BENCH_LOANS=$loans $command"; fi
if [ "$items" != 200000 ]; then command="CARREL_BENCH_ITEMS=$items $command"; fi
if [ "$patrons" != 100000 ]; then command="CARREL_BENCH_PATRONS=$patrons $command"; fi

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
sqlite_include=$(sed -n 's/^SQLite3_INCLUDE_DIR:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
sqlite_version=$(sed -n 's/^#define SQLITE_VERSION  *"\(.*\)"/\1/p' \
  "${sqlite_include:-/usr/include}/sqlite3.h" 2>/dev/null || true)
tmp_fs=$(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 " on " $1 }')

# The failover drill's section is measured by hand (scripts/failover-drill.sh): kept as it is.
cp "$out" "$work/previous.md" 2>/dev/null || : >"$work/previous.md"
BENCH_JSON="$work/bench.json" \
BENCH_LOOKUP_JSON="$work/lookup.json" \
BENCH_LOOKUP_SEED_JSON="$work/lookup-seed.json" \
BENCH_AUDIT_JSON="$work/audit.json" \
BENCH_AUDIT_BUILD_JSON="$work/audit-build.json" \
BENCH_RETENTION_JSON="$work/retention.json" \
BENCH_VERIFY_START="$verify_start" \
BENCH_VERIFY_END="$verify_end" \
BENCH_VERIFY_REPORT="$(cat "$work/verify.txt")" \
BENCH_SOURCE="$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
BENCH_REPETITIONS="$repetitions" \
BENCH_OUT="$out" \
BENCH_COMMAND="$command" \
BENCH_SEED_START="$seed_start" \
BENCH_SEED_END="$seed_end" \
BENCH_SEED_DB_BYTES="$seed_db_bytes" \
BENCH_SEED_REPORT="$(cat "$work/seed.txt")" \
BENCH_HTTP_JSON="$work/http.json" BENCH_WEB_JSON="$work/web.json" \
BENCH_SCRIPTS="$root/scripts" \
BENCH_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
BENCH_NPROC="$(nproc)" \
BENCH_MEMORY="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
BENCH_KERNEL="$(uname -sr)" \
BENCH_COMPILER="$("${compiler:-c++}" --version | head -n 1), ${build_type:-unknown} build" \
BENCH_SQLITE="${sqlite_version:-unknown}" \
BENCH_TMP_FS="$tmp_fs" \
BENCH_LOAD="$(cut -d ' ' -f 1-3 /proc/loadavg)" \
python3 - <<'PYTHON'
import json
import os
import sys

env = os.environ
with open(env["BENCH_HTTP_JSON"]) as f:
    http = json.load(f)
sys.path.insert(0, env["BENCH_SCRIPTS"])
from bench_http_section import section as http_section  # noqa: E402
from bench_contract_section import section as contract_section  # noqa: E402
from bench_retention_section import section as retention_section  # noqa: E402
from bench_web_section import section as web_section  # noqa: E402
from bench_disclosure_section import section as disclosure_section  # noqa: E402
with open(env["BENCH_WEB_JSON"]) as f:
    web = json.load(f)
with open(env["BENCH_JSON"]) as f:
    run = json.load(f)
with open(env["BENCH_RETENTION_JSON"]) as f:
    retention = json.load(f)
# The scale benchmarks report building and measuring separately.
lookup = {}
audit = {}
for into, names in ((lookup, ("BENCH_LOOKUP_SEED_JSON", "BENCH_LOOKUP_JSON")),
                    (audit, ("BENCH_AUDIT_BUILD_JSON", "BENCH_AUDIT_JSON"))):
    for name in names:
        with open(env[name]) as f:
            into.update(json.load(f))
# Names carry the options ("BM_x/min_time:5.000/real_time"). With repetitions, the median
# aggregate is the figure and the coefficient of variation its spread.
results = {}
spread = {}
errors = {}
for b in run.get("benchmarks", []):
    name = b.get("run_name", b["name"]).split("/")[0]
    if b.get("error_occurred"):
        errors[name] = b.get("error_message", "")
    if b.get("run_type") != "aggregate":
        results.setdefault(name, b)
    elif b.get("aggregate_name") == "median":
        results[name] = b
    elif b.get("aggregate_name") == "cv":
        spread[name] = b.get("items_per_second")

CIRCULATION = ("BM_CheckoutCheckin_InProcess", "BM_CheckoutCheckin_InProcessNoAudit",
               "BM_CheckoutCheckin_BareSqlite", "BM_BareDurableTransaction")
CRYPTO_PARTS = ("BM_CheckoutCheckinCrypto_BlindIndex", "BM_CheckoutCheckinCrypto_KeyUnwrap",
                "BM_CheckoutCheckinCrypto_FieldOpens", "BM_CheckoutCheckinCrypto_LinkSeal")
CRYPTO = ("BM_CheckoutCheckinCrypto_All",) + CRYPTO_PARTS
VAULT = ("BM_VaultSeal", "BM_VaultOpen", "BM_BlindIndexBlake2b", "BM_VaultBlindIndex")
# Operations per iteration: a checkout + checkin is two.
ops_per_iteration = {name: 2 for name in CIRCULATION + CRYPTO}
ops_per_iteration["BM_BareDurableTransaction"] = 1
for name in VAULT:
    ops_per_iteration[name] = 1
to_us = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
failed = False
rates = {}
cpu_us = {}
for name in CIRCULATION + CRYPTO + VAULT:
    b = results.get(name)
    if b is None:
        print(f"bench: {name} did not run", file=sys.stderr)
        failed = True
    elif name in errors:
        print(f"bench: {name} failed: {errors[name]}", file=sys.stderr)
        failed = True
    elif "items_per_second" not in b:
        print(f"bench: {name} reported no items_per_second", file=sys.stderr)
        failed = True
    else:
        rates[name] = b["items_per_second"]
        cpu_us[name] = b["cpu_time"] * to_us[b.get("time_unit", "ns")] / ops_per_iteration[name]
if not audit.get("roots_match"):
    print("bench: raw hashing did not reach verification's root", file=sys.stderr)
    failed = True
if failed:
    sys.exit(1)

in_process = rates["BM_CheckoutCheckin_InProcess"]
no_audit = rates["BM_CheckoutCheckin_InProcessNoAudit"]
bare_statements = rates["BM_CheckoutCheckin_BareSqlite"]
bare_durable = rates["BM_BareDurableTransaction"]
target = 0.70


def verdict(ratio, goal=target):
    return "PASS" if ratio >= goal else "FAIL"


def row(label, name):
    cv = spread.get(name)
    cv_text = f"{cv * 100:.1f}%" if cv is not None else "n/a"
    return (f"| {label} | {rates[name]:,.0f} | {1e6 / rates[name]:,.0f} | {cpu_us[name]:,.0f} "
            f"| {cv_text} |")


ratio_statements = in_process / bare_statements
ratio_durable = in_process / bare_durable
ratio_encryption = no_audit / bare_statements
ratio_audit = in_process / no_audit
own_work_us = cpu_us["BM_CheckoutCheckin_InProcess"] - cpu_us["BM_CheckoutCheckin_BareSqlite"]
audit_cpu_us = cpu_us["BM_CheckoutCheckin_InProcess"] - cpu_us["BM_CheckoutCheckin_InProcessNoAudit"]
seed_seconds = float(env["BENCH_SEED_END"]) - float(env["BENCH_SEED_START"])
patrons = int(env["CARREL_BENCH_PATRONS"])
items = int(env["CARREL_BENCH_ITEMS"])
loans = int(env["CARREL_BENCH_LOANS"])
context = run.get("context", {})

# Field encryption and blind index throughput.
def vault_row(label, name, with_bytes):
    b = results[name]
    mb = f"{b['bytes_per_second'] / 1e6:,.0f}" if with_bytes and "bytes_per_second" in b else "—"
    return (f"| {label} | {rates[name]:,.0f} | {mb} | {cpu_us[name] * 1e3:,.0f} |")


# The cryptography of one checkout + checkin.
crypto_labels = {
    "BM_CheckoutCheckinCrypto_BlindIndex": "Blind index of the card barcode (`Vault::BlindIndex`)",
    "BM_CheckoutCheckinCrypto_KeyUnwrap":
        "Patron key unwrapped (cold key: XChaCha20-Poly1305 open of 32 bytes)",
    "BM_CheckoutCheckinCrypto_FieldOpens":
        "Patron fields opened (`Vault::Open`), at checkout and again at checkin",
    "BM_CheckoutCheckinCrypto_LinkSeal": "History link sealed (`Vault::Seal`, 8 bytes) and tagged "
                                         "(`Vault::LinkTag`)",
}
crypto_rows = []
for name in CRYPTO_PARTS:
    calls = results[name].get("calls", 0)
    crypto_rows.append(f"| {crypto_labels[name]} | {calls:.1f} | {cpu_us[name] * 2:.2f} "
                       f"| {cpu_us[name]:.2f} |")
crypto_all_us = cpu_us["BM_CheckoutCheckinCrypto_All"]
crypto_calls = results["BM_CheckoutCheckinCrypto_All"].get("calls", 0)
in_process_cpu = cpu_us["BM_CheckoutCheckin_InProcess"]
no_audit_cpu = cpu_us["BM_CheckoutCheckin_InProcessNoAudit"]

# Lookups.
lookup_patrons = int(lookup["patrons"])
blind = lookup["blind_index"]
audited = lookup["audited"]

# Audit log.
entries = int(audit["entries"])
verify_rate = audit["verify_rate"]
raw_rate = audit["raw_rate"]
verify_ratio = verify_rate / raw_rate
verify_goal = 2_000_000
verify_seconds = audit["verify_seconds"]
whole_seconds = float(env["BENCH_VERIFY_END"]) - float(env["BENCH_VERIFY_START"])
whole_rate = entries / whole_seconds
scan_s = audit["scan_seconds"]
raw_s = audit["raw_seconds"]
hash_s = audit["carrel_hash_seconds"]
verify_cpu = audit["verify_cpu_seconds"]
rest_s = verify_cpu - scan_s - hash_s
verify_threads = int(audit.get("verify_threads", 1))
heads = int(audit["heads_signed"])
# The seed prints its summary first, then the demo logins.
seed_summary = next((line for line in env["BENCH_SEED_REPORT"].splitlines() if "seeded" in line),
                    env["BENCH_SEED_REPORT"].strip())


def share(seconds):
    return f"{100 * seconds / verify_cpu:.0f}%"


lines = [
    "# Benchmarks",
    "",
    "Generated by `scripts/bench.sh`; do not edit by hand. Targets are in docs/design.md §12.",
    "",
    f"- Date: {context.get('date', 'unknown')}",
    f"- Command: `{env['BENCH_COMMAND']}`",
    f"- Source: `{env['BENCH_SOURCE']}`",
    f"- Library: {patrons:,} patrons, {items:,} items, {loans:,} returned loans "
    "(`carrel demo seed`, seed 1)",
    "",
    "## Machine",
    "",
    f"- CPU: {env['BENCH_CPU']} ({env['BENCH_NPROC']} online)",
    f"- Memory: {env['BENCH_MEMORY']}",
    f"- Kernel: {env['BENCH_KERNEL']}",
    f"- Compiler: {env['BENCH_COMPILER']}",
    f"- SQLite: {env['BENCH_SQLITE']} (WAL, synchronous=FULL)",
    f"- OpenSSL: {audit.get('openssl', 'unknown')}; libsodium: {lookup.get('libsodium', 'unknown')}",
    f"- Scratch file system: {env['BENCH_TMP_FS']}",
    f"- Load average at the end of the run: {env['BENCH_LOAD']}",
    "",
    "## Circulation, one durable transaction per operation",
    "",
    "An operation is one checkout or one checkin: an available item lent to a patron with a "
    "valid card and returned the same day, cycling through the catalogue and the patrons. "
    "\"Bare SQLite\" issues the same SQL statements through the SQLite C API with prepared "
    "statements on a byte-for-byte copy of the same seeded database; \"bare durable "
    "transaction\" is BEGIN IMMEDIATE, one single-row INSERT, COMMIT. \"Audit off\" is a second "
    "`Circulation` over the same library's store and vault with no audit log (the constructor "
    "admits a null log for this benchmark only); the two in-process runs draw from one sequence "
    "of patrons, so neither meets patron keys the other has already unwrapped.",
    "",
    f"Each figure is the median of {env['BENCH_REPETITIONS']} repetitions run in random "
    "order; the spread is their coefficient of variation. Wall-clock time is mostly spent "
    "waiting for fsync. CPU time includes the kernel's work writing the WAL; the difference "
    "between the in-process and bare SQLite rows is carrel's own work (validation, decrypting "
    "patron fields, the blind index, sealing the history link, keyring reads, the audit entry), "
    "which the bare run skips.",
    "",
    "| Benchmark | Operations/s | Wall µs per operation | CPU µs per operation | Spread |",
    "|---|---:|---:|---:|---:|",
    row("Checkout + checkin, carrel in-process (encryption and audit on)",
        "BM_CheckoutCheckin_InProcess"),
    row("Checkout + checkin, carrel in-process, audit off (encryption on)",
        "BM_CheckoutCheckin_InProcessNoAudit"),
    row("Checkout + checkin, bare SQLite, same statements (no encryption, no audit)",
        "BM_CheckoutCheckin_BareSqlite"),
    row("Bare durable single-row transaction", "BM_BareDurableTransaction"),
    "",
    "| Ratio | Measured | Target | Result |",
    "|---|---:|---:|---|",
    f"| In-process / bare SQLite, same statements | {ratio_statements:.2f} | ≥ {target:.2f} | "
    f"{verdict(ratio_statements)} |",
    f"| In-process / bare durable single-row transaction | {ratio_durable:.2f} | "
    f"≥ {target:.2f} | {verdict(ratio_durable)} |",
    "",
    f"carrel's own CPU work per operation (in-process minus bare SQLite): {own_work_us:,.0f} µs.",
    "",
    "## Confidentiality at rest",
    "",
    "### Field encryption and blind index throughput",
    "",
    "One thread, CPU-bound, no database work; medians of the repetitions. A field is 256 bytes "
    "of plaintext, sealed with XChaCha20-Poly1305 under a 32-byte key with associated data "
    "`carrel/v1|patrons|postal_address|<row>`, 40 bytes longer once sealed (nonce and tag); "
    "MB/s counts plaintext bytes. The blind index is keyed BLAKE2b (32-byte key, 8-byte output) "
    "of a 14-character card barcode, once as the bare libsodium call and once through "
    "`Vault::BlindIndex`, which also names the key and finds it in the keyring's cache. "
    "Reported, no target.",
    "",
    "| Operation | Calls/s | MB/s | ns per call |",
    "|---|---:|---:|---:|",
    vault_row("`Vault::Seal`, 256-byte field", "BM_VaultSeal", True),
    vault_row("`Vault::Open`, 256-byte field", "BM_VaultOpen", True),
    vault_row("Blind index, `crypto_generichash` (BLAKE2b, keyed, 8 bytes)",
              "BM_BlindIndexBlake2b", False),
    vault_row("Blind index through `Vault::BlindIndex` (keyring cache + BLAKE2b)",
              "BM_VaultBlindIndex", False),
    "",
    "### What encryption costs circulation",
    "",
    "carrel has no switch to turn encryption off, so there is no carrel run without it. The "
    "\"without encryption\" figure is the bare SQLite benchmark above: the same SQL statements on "
    "a copy of the same database, binding values of the sealed sizes but doing no cryptography "
    "at all. That run also skips carrel's validation, Status plumbing and row objects, so the "
    "ratio charges all of those to encryption: it is a lower bound of the true ratio. The first "
    "row leaves the audit log out of the comparison (in-process with audit off); the second is "
    "carrel as it runs, encryption and audit on.",
    "",
    "| Ratio | Measured | Target | Result |",
    "|---|---:|---:|---|",
    f"| In-process, encryption on, audit off / bare SQLite without encryption | "
    f"{ratio_encryption:.2f} | ≥ {target:.2f} | {verdict(ratio_encryption)} |",
    f"| In-process, encryption and audit on / bare SQLite without encryption | "
    f"{ratio_statements:.2f} | ≥ {target:.2f} | {verdict(ratio_statements)} |",
    "",
    "### Cryptography CPU in one checkout + checkin",
    "",
    "The cryptographic calls one checkout + checkin makes, replayed without SQLite on the sealed "
    "fields of real seeded patrons (patrons the circulation runs never lend to): each kind "
    "measured alone, then all together. The patron's key is cold at checkout (a random patron "
    "of a large library is rarely in the key cache), so it is unwrapped from the keyring; the "
    "replay measures the unwrap's XChaCha20-Poly1305 open, not the keyring read. Patrons have 6 "
    "or 7 sealed fields (email is optional), read at checkout and again at checkin.",
    "",
    "| Call | Calls per checkout + checkin | CPU µs per checkout + checkin | CPU µs per operation |",
    "|---|---:|---:|---:|",
    *crypto_rows,
    f"| All of them, measured together | {crypto_calls:.1f} | {crypto_all_us * 2:.2f} "
    f"| {crypto_all_us:.2f} |",
    "",
    f"Cryptography takes {crypto_all_us:.1f} µs of the {in_process_cpu:,.0f} µs of CPU an "
    f"in-process operation uses ({100 * crypto_all_us / in_process_cpu:.0f}%; "
    f"{100 * crypto_all_us / no_audit_cpu:.0f}% of the {no_audit_cpu:,.0f} µs with audit off), "
    f"and {100 * crypto_all_us / own_work_us:.0f}% of carrel's own {own_work_us:,.0f} µs "
    "(in-process minus bare SQLite)." if own_work_us > 0 else
    f"Cryptography takes {crypto_all_us:.1f} µs of the {in_process_cpu:,.0f} µs of CPU an "
    f"in-process operation uses ({100 * crypto_all_us / in_process_cpu:.0f}%).",
    "",
    f"### Barcode lookup through the blind index, {lookup_patrons:,} patrons",
    "",
    f"A scratch library seeded with `SeedDemoLibrary` ({lookup_patrons:,} patrons, 10 items, no "
    f"returned loans; {lookup['seed_seconds']:.0f} s while the audit log below was built on the "
    f"other core; database "
    f"{lookup['db_bytes'] / 2**20:,.0f} MiB, keyring {lookup['keyring_bytes'] / 2**20:,.0f} MiB), "
    f"reopened with a cold key cache, then {int(lookup['lookups']):,} lookups of random existing "
    "card barcodes each way (different random patrons for each). A lookup normalizes the "
    "barcode, computes its blind index, reads the candidates through the `card_bi` index, "
    "unwraps the patron's key from the keyring and decrypts the candidate to confirm the match. "
    "**The lookup is row (a).** Row (b) is the public call, which adds a write transaction, a "
    "`patron.search` audit entry and a durable commit (fsync).",
    "",
    "| Measurement | Median µs | p99 µs | Mean µs | CPU µs per lookup |",
    "|---|---:|---:|---:|---:|",
    f"| (a) Blind-index lookup: `SealedRecords::FindPatronByBarcode` in a read transaction | "
    f"{blind['median_us']:,.0f} | {blind['p99_us']:,.0f} | {blind['mean_us']:,.0f} | "
    f"{blind['cpu_us_per_lookup']:,.0f} |",
    f"| (b) Audited: `Circulation::FindPatronByBarcode(actor, barcode)` | "
    f"{audited['median_us']:,.0f} | {audited['p99_us']:,.0f} | {audited['mean_us']:,.0f} | "
    f"{audited['cpu_us_per_lookup']:,.0f} |",
    "",
    "## Audit log",
    "",
    f"### Verification of a {entries:,}-entry log",
    "",
    f"A log built in a scratch SQLite store of its own with `AuditLog::Append`, "
    f"{int(audit['appends_per_transaction']):,} appends per transaction, a head signed with "
    f"`AuditLog::SignHead` every 1,000,000 entries and at the end ({heads} "
    f"head{'s' if heads != 1 else ''}), "
    "then checkpointed, while the lookup library above was seeded on the other core. Entries are front-desk work as an API server records it "
    "(`loan.checkout`, `loan.checkin`, `patron.search`, `patron.view` by `user/N`, with a "
    f"request id and a station): {audit['entry_bytes_mean']:.0f} bytes on average. "
    "`VerifyAuditLog` runs in-process on a read-only store, as `carrel audit verify` opens it "
    f"(through a memory map), on {verify_threads} thread{'s' if verify_threads != 1 else ''}: "
    "it cuts the log into aligned chunks of 65,536 entries, each the leaves of one complete "
    "subtree, checks and hashes the chunks in parallel and joins their roots in order; "
    "then the whole `carrel audit verify --data DIR` process is timed from start to exit. "
    "\"Raw SHA-256\" is OpenSSL's EVP SHA-256 (the CPU's SHA extensions) over exactly the bytes "
    f"verification hashes, every leaf's `0x00 || entry` and every interior node's "
    f"`0x01 || left || right` ({int(audit['raw_nodes']):,} nodes of 65 bytes), with one reused "
    "`EVP_MD_CTX`, the entries re-encoded in memory beforehand; its root equals the root "
    "verification computed. Its rate is in entries/s: the time to hash one entry's leaf and one "
    "node, on one core.",
    "",
    "| Measurement | Seconds | Entries/s |",
    "|---|---:|---:|",
    f"| `VerifyAuditLog`, in-process | {verify_seconds:.2f} | {verify_rate:,.0f} |",
    f"| `carrel audit verify`, whole process | {whole_seconds:.2f} | {whole_rate:,.0f} |",
    f"| Raw SHA-256 over the same bytes | {raw_s:.2f} | {raw_rate:,.0f} |",
    "",
    "| Target | Measured | Goal | Result |",
    "|---|---:|---:|---|",
    f"| Verification rate, in-process | {verify_rate:,.0f}/s | ≥ {verify_goal:,}/s | "
    f"{verdict(verify_rate, verify_goal)} |",
    f"| Verification rate, whole process | {whole_rate:,.0f}/s | ≥ {verify_goal:,}/s | "
    f"{verdict(whole_rate, verify_goal)} |",
    f"| Verification / raw SHA-256, in-process | {verify_ratio:.2f} | ≥ 0.50 | "
    f"{verdict(verify_ratio, 0.5)} |",
    "",
    f"Per core, for comparison: verification spends {verify_cpu:.2f} s of CPU on all its "
    f"threads, {raw_s / verify_cpu:.2f} times the raw single-core SHA-256 time.",
    "",
    "Where in-process verification's CPU goes, each part measured alone on one thread in the "
    "same run: the SQLite scan is verification's `SELECT seq, entry, leaf_hash FROM audit_log` "
    "stepped through the SQLite C API over a memory map, every column fetched and nothing else "
    "done (the log keeps no other column: its search indexes are built on the fields inside the "
    "entries); hashing is the same bytes through carrel's `LeafHash` and `NodeHash`, as "
    "verification calls them (raw SHA-256 of the same bytes, above, is the floor). The rest is "
    "carrel's work per row besides reading and hashing: the `Store` row callback and column "
    "accessors, decoding the entry, comparing the stored leaf hash, the tree and the threads.",
    "",
    "| Part | CPU seconds | Share of verification's CPU |",
    "|---|---:|---:|",
    f"| SQLite scan alone (3 columns per row) | {scan_s:.2f} | {share(scan_s)} |",
    f"| Hashing through `LeafHash` and `NodeHash` (raw SHA-256: {raw_s:.2f} s) | {hash_s:.2f} "
    f"| {share(hash_s)} |",
    f"| The rest | {rest_s:.2f} | {share(rest_s)} |",
    f"| Verification, in-process ({verify_seconds:.2f} s wall clock) | {verify_cpu:.2f} | 100% |",
    "",
    f"Building the log: {audit['append_seconds']:.0f} s for {entries:,} appends "
    f"({audit['append_rate']:,.0f} appends/s, {audit['append_cpu_seconds']:.0f} s CPU; the "
    f"builder's connection has a {int(audit['builder_cache_mib']):,} MiB page cache, and the "
    f"lookup library was seeded on the other core meanwhile), checkpoint "
    f"{audit['checkpoint_seconds']:.1f} s, database {audit['db_bytes'] / 2**20:,.0f} MiB.",
    "",
    f"`carrel audit verify` reported: `{env['BENCH_VERIFY_REPORT'].strip()}`",
    "",
    "### What appending costs circulation",
    "",
    "The in-process rate with the audit log on, against the same run with a `Circulation` that "
    "has no log (above); every checkout and checkin appends one entry in its own transaction.",
    "",
    "| Ratio | Measured | Target | Result |",
    "|---|---:|---:|---|",
    f"| In-process, audit on / audit off | {ratio_audit:.2f} | ≥ {target:.2f} | "
    f"{verdict(ratio_audit)} |",
    "",
    f"CPU per operation spent on the audit entry (audit on minus audit off): {audit_cpu_us:,.0f} µs.",
    "",
    "## Whole process",
    "",
    "| Measurement | Result |",
    "|---|---:|",
    f"| `carrel demo seed` with encryption and audit on, on a fresh `carrel init`, wall clock | "
    f"{seed_seconds:.1f} s |",
    f"| Database size after seeding | {int(env['BENCH_SEED_DB_BYTES']) / 2**20:,.0f} MiB |",
    f"| `carrel audit verify` of the {entries:,}-entry log, wall clock | {whole_seconds:.1f} s |",
    "",
    f"The seed reported: `{seed_summary.strip()}`",
    "",
] + retention_section(retention) + disclosure_section(retention) + contract_section(run["benchmarks"]) + http_section(
    http, bare_durable) + web_section(web) + [
    "## Reading these figures",
    "",
    "Every circulation figure waits on fsync, so it moves with the disk, the file system and "
    "whatever else the machine is doing (compare the load average above). Absolute rates from "
    "two machines, or two runs, are not comparable; the ratios within one run are what to "
    "compare, because each pair is measured on the same file system minutes apart.",
    "",
    "The two ratios against bare runs answer different questions. Against the same statements, "
    "the ratio is the cost of carrel's layers. Against the single-row transaction it also counts "
    "the schema: a checkout or checkin commits several pages to the WAL (the loan, the item, the "
    "patron, the history row and their indexes) where the single-row transaction commits one, "
    "and a commit's fsync takes longer the more it writes.",
    "",
    "The cryptography, blind-index and hashing figures are CPU-bound and steadier; the lookup "
    "and verification figures read databases the run has just written, from the page cache.",
    "",
]
with open(env["BENCH_OUT"], "w") as f:
    f.write("\n".join(lines))

print(f"bench: in-process {in_process:,.0f}/s, audit off {no_audit:,.0f}/s, bare same "
      f"statements {bare_statements:,.0f}/s (ratio {ratio_statements:.2f}, "
      f"{verdict(ratio_statements)}; audit off {ratio_encryption:.2f}, "
      f"{verdict(ratio_encryption)}), audit on/off {ratio_audit:.2f} ({verdict(ratio_audit)}), "
      f"bare durable {bare_durable:,.0f}/s (ratio {ratio_durable:.2f}, "
      f"{verdict(ratio_durable)}), seed {seed_seconds:.1f}s", file=sys.stderr)
print(f"bench: lookup median {blind['median_us']:,.0f} µs p99 {blind['p99_us']:,.0f} µs; "
      f"audited median {audited['median_us']:,.0f} µs p99 {audited['p99_us']:,.0f} µs",
      file=sys.stderr)
print(f"bench: audit verify {verify_rate:,.0f}/s ({verdict(verify_rate, verify_goal)}), raw "
      f"{raw_rate:,.0f}/s, ratio {verify_ratio:.2f} ({verdict(verify_ratio, 0.5)}); whole "
      f"process {whole_rate:,.0f}/s; append {audit['append_rate']:,.0f}/s", file=sys.stderr)
print(f"bench: retention: UPDATE {retention['update_seconds']:.2f}s, run "
      f"{retention['run_seconds']:.2f}s, key destruction {retention['key_seconds']:.3f}s "
      f"({retention['update_seconds'] / retention['key_seconds']:,.0f}x); reclaim "
      f"{retention['reclaim_rate']:,.0f} rows/s", file=sys.stderr)
print(f"bench: wrote {env['BENCH_OUT']}", file=sys.stderr)
PYTHON
python3 "$root/scripts/failover_drill_section.py" --keep "$work/previous.md" "$out"

# carrel on PostgreSQL, and the Koha import, in the same run.
if [ "${CARREL_BENCH_PARTS:-all}" = all ]; then
  bench_postgres "make bench"
  bench_koha "make bench"
  bench_sip2 "make bench"
fi
