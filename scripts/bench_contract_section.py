"""The section of docs/BENCHMARKS.md on checking requests against the API contract (written by
scripts/bench.sh, in a whole run or with CARREL_BENCH_PARTS=http)."""

HEADING = "## Checking requests against the API contract"

# Benchmark name (before any "/option") -> (what it checks, target in microseconds).
ROWS = [
    ("BM_ValidateCheckoutBody", "A checkout body (item and card barcodes)", 5),
    ("BM_ValidateLargestStepBody",
     "Counsel's advice at its longest: 20,000 characters and a scope of 100 patrons "
     "(the largest body a request step takes)", 50),
    ("BM_ValidateWarrantStepBody",
     "A warrant executed on the spot: 20 officers, 200 items seized, 50 devices, notes", 50),
    ("BM_ValidateIntakeBody", "An intake naming 100 cards, every field given", None),
]


def section(benchmarks, note=""):
    """Lines of the section from Google Benchmark JSON entries (medians where repeated)."""
    by_name = {}
    for b in benchmarks:
        name = b["name"].split("/")[0]
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        by_name[name] = b  # the median aggregate comes after the repetitions
    lines = [
        HEADING,
        "",
        "Every request is checked against its route's schemas (path and query parameters, "
        "body) before its handler runs (`src/api/contract.cc`, `src/util/json_schema.cc`). "
        "CPU time per check of an already parsed body, in process (`bench/api_bench.cc`):",
        "",
        "| Body | Bytes | Check | Target | |",
        "|---|---:|---:|---:|---|",
    ]
    for name, what, target in ROWS:
        b = by_name.get(name)
        if b is None:
            continue
        unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
        us = b["cpu_time"] * unit
        size = int(b.get("body_bytes", 0))
        verdict = "" if target is None else ("PASS" if us < target else "**FAIL**")
        goal = "" if target is None else f"< {target} µs"
        lines.append(f"| {what} | {size:,} | {us:.2f} µs | {goal} | {verdict} |")
    lines.append("")
    if note:
        lines += [note, ""]
    return lines


def splice(document, lines):
    """The document with this section replaced by `lines` (placed before the HTTP section when
    the document has none yet)."""
    if HEADING in document:
        start = document.index(HEADING)
        end = document.index("\n## ", start + len(HEADING)) + 1
        return document[:start] + "\n".join(lines) + "\n" + document[end:]
    at = document.index("## The HTTP API under load")
    return document[:at] + "\n".join(lines) + "\n" + document[at:]
