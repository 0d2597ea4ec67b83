#!/usr/bin/env bash
# Runs carrel's benchmarks and writes docs/BENCHMARKS.md; `make bench` calls it as
#   scripts/bench.sh build/release
# Library sizes: CARREL_BENCH_PATRONS (100000), CARREL_BENCH_ITEMS (200000) and
# CARREL_BENCH_LOANS (1000000). Scratch libraries go under $TMPDIR (default /tmp).
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
export CARREL_BENCH_PATRONS=$patrons CARREL_BENCH_ITEMS=$items CARREL_BENCH_LOANS=$loans

for binary in carrel carrel_bench; do
  if [ ! -x "$build/$binary" ]; then
    echo "bench: $build/$binary is missing; build it first" >&2
    exit 1
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/carrel-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Whole process: a fresh library seeded by the CLI, wall clock from start to exit.
echo "bench: carrel demo seed --patrons $patrons --items $items --loans $loans" >&2
"$build/carrel" init --data "$work/seeded" >/dev/null
seed_start=$(date +%s.%N)
"$build/carrel" demo seed --data "$work/seeded" --patrons "$patrons" --items "$items" \
  --loans "$loans" >"$work/seed.txt"
seed_end=$(date +%s.%N)
seed_db_bytes=$(stat -c %s "$work/seeded/carrel.db")
rm -rf "$work/seeded"

# In-process and bare SQLite suites: console output to the terminal, figures to JSON. The
# repetitions run in random order so that a slow spell of the disk does not land on one
# benchmark only; the document reports their median.
sync
repetitions=5
echo "bench: $build/carrel_bench" >&2
TMPDIR="$work" "$build/carrel_bench" --benchmark_repetitions=$repetitions \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$work/bench.json" --benchmark_out_format=json

# The command that reproduces this document, with any size the caller overrode.
command="make bench"
if [ "$loans" != 1000000 ]; then command="CARREL_BENCH_LOANS=$loans $command"; fi
if [ "$items" != 200000 ]; then command="CARREL_BENCH_ITEMS=$items $command"; fi
if [ "$patrons" != 100000 ]; then command="CARREL_BENCH_PATRONS=$patrons $command"; fi

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
sqlite_include=$(sed -n 's/^SQLite3_INCLUDE_DIR:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
sqlite_version=$(sed -n 's/^#define SQLITE_VERSION  *"\(.*\)"/\1/p' \
  "${sqlite_include:-/usr/include}/sqlite3.h" 2>/dev/null || true)
tmp_fs=$(df -PT "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 " on " $1 }')

BENCH_JSON="$work/bench.json" \
BENCH_REPETITIONS="$repetitions" \
BENCH_OUT="$out" \
BENCH_COMMAND="$command" \
BENCH_SEED_START="$seed_start" \
BENCH_SEED_END="$seed_end" \
BENCH_SEED_DB_BYTES="$seed_db_bytes" \
BENCH_SEED_REPORT="$(cat "$work/seed.txt")" \
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
with open(env["BENCH_JSON"]) as f:
    run = json.load(f)
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

ops_per_iteration = {"BM_CheckoutCheckin_InProcess": 2, "BM_CheckoutCheckin_BareSqlite": 2,
                     "BM_BareDurableTransaction": 1}
to_us = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
failed = False
rates = {}
cpu_us = {}
for name in ("BM_CheckoutCheckin_InProcess", "BM_CheckoutCheckin_BareSqlite",
             "BM_BareDurableTransaction"):
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
if failed:
    sys.exit(1)

in_process = rates["BM_CheckoutCheckin_InProcess"]
bare_statements = rates["BM_CheckoutCheckin_BareSqlite"]
bare_durable = rates["BM_BareDurableTransaction"]
target = 0.70


def verdict(ratio):
    return "PASS" if ratio >= target else "FAIL"


def row(label, name):
    cv = spread.get(name)
    cv_text = f"{cv * 100:.1f}%" if cv is not None else "n/a"
    return (f"| {label} | {rates[name]:,.0f} | {1e6 / rates[name]:,.0f} | {cpu_us[name]:,.0f} "
            f"| {cv_text} |")


ratio_statements = in_process / bare_statements
ratio_durable = in_process / bare_durable
seed_seconds = float(env["BENCH_SEED_END"]) - float(env["BENCH_SEED_START"])
patrons = int(env["CARREL_BENCH_PATRONS"])
items = int(env["CARREL_BENCH_ITEMS"])
loans = int(env["CARREL_BENCH_LOANS"])
context = run.get("context", {})

lines = [
    "# Benchmarks",
    "",
    "Generated by `scripts/bench.sh`; do not edit by hand. Targets are in DESIGN.md §12.",
    "",
    f"- Date: {context.get('date', 'unknown')}",
    f"- Command: `{env['BENCH_COMMAND']}`",
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
    f"- Scratch file system: {env['BENCH_TMP_FS']}",
    f"- Load average at the end of the run: {env['BENCH_LOAD']}",
    "",
    "## Circulation, one durable transaction per operation",
    "",
    "An operation is one checkout or one checkin: an available item lent to a patron with a "
    "valid card and returned the same day, cycling through the catalogue and the patrons. "
    "\"Bare SQLite\" issues the same SQL statements through the SQLite C API with prepared "
    "statements on a byte-for-byte copy of the same seeded database; \"bare durable "
    "transaction\" is BEGIN IMMEDIATE, one single-row INSERT, COMMIT.",
    "",
    f"Each figure is the median of {env['BENCH_REPETITIONS']} repetitions run in random "
    "order; the spread is their coefficient of variation. Wall-clock time is mostly spent "
    "waiting for fsync. CPU time includes the kernel's work writing the WAL; the difference "
    "between the first two rows is carrel's own work (validation, decrypting patron fields, "
    "the blind index, sealing the history link, keyring reads), which the bare run skips.",
    "",
    "| Benchmark | Operations/s | Wall µs per operation | CPU µs per operation | Spread |",
    "|---|---:|---:|---:|---:|",
    row("Checkout + checkin, carrel in-process", "BM_CheckoutCheckin_InProcess"),
    row("Checkout + checkin, bare SQLite, same statements", "BM_CheckoutCheckin_BareSqlite"),
    row("Bare durable single-row transaction", "BM_BareDurableTransaction"),
    "",
    "| Ratio | Measured | Target | Result |",
    "|---|---:|---:|---|",
    f"| In-process / bare SQLite, same statements | {ratio_statements:.2f} | ≥ {target:.2f} | "
    f"{verdict(ratio_statements)} |",
    f"| In-process / bare durable single-row transaction | {ratio_durable:.2f} | "
    f"≥ {target:.2f} | {verdict(ratio_durable)} |",
    "",
    f"carrel's own CPU work per operation (in-process minus bare SQLite): "
    f"{cpu_us['BM_CheckoutCheckin_InProcess'] - cpu_us['BM_CheckoutCheckin_BareSqlite']:,.0f} µs.",
    "",
    "## Whole process",
    "",
    "| Measurement | Result |",
    "|---|---:|",
    f"| `carrel demo seed` on a fresh `carrel init`, wall clock | {seed_seconds:.1f} s |",
    f"| Database size after seeding | {int(env['BENCH_SEED_DB_BYTES']) / 2**20:,.0f} MiB |",
    "",
    f"The seed reported: `{env['BENCH_SEED_REPORT'].strip()}`",
    "",
    "## Reading these figures",
    "",
    "Every figure here waits on fsync, so it moves with the disk, the file system and whatever "
    "else the machine is doing (compare the load average above). Absolute rates from two "
    "machines, or two runs, are not comparable; the ratios within one run are what to compare, "
    "because each pair is measured on the same file system minutes apart.",
    "",
    "The two ratios answer different questions. Against the same statements, the ratio is the "
    "cost of carrel's layers. Against the single-row transaction it also counts the schema: a "
    "checkout or checkin commits several pages to the WAL (the loan, the item, the patron, the "
    "history row and their indexes) where the single-row transaction commits one, and a "
    "commit's fsync takes longer the more it writes.",
    "",
]
with open(env["BENCH_OUT"], "w") as f:
    f.write("\n".join(lines))

print(f"bench: in-process {in_process:,.0f}/s, bare same statements {bare_statements:,.0f}/s "
      f"(ratio {ratio_statements:.2f}, {verdict(ratio_statements)}), bare durable "
      f"{bare_durable:,.0f}/s (ratio {ratio_durable:.2f}, {verdict(ratio_durable)}), "
      f"seed {seed_seconds:.1f}s", file=sys.stderr)
print(f"bench: wrote {env['BENCH_OUT']}", file=sys.stderr)
PYTHON
