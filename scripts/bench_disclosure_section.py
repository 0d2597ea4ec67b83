"""The section of docs/BENCHMARKS.md on extracting one patron's records for a disclosure
(bench/scale/disclosure.cc, run within the retention benchmark before its run), written by
scripts/bench.sh (CARREL_BENCH_PARTS=retention, or a whole run)."""

HEADING = "## Disclosure: one patron's records"
GOAL_MS = 50


def section(retention, note=""):
    d = retention["disclosure"]
    carrel, bare = d["carrel"], d["bare"]
    rows = d["history_rows_per_patron"]
    median_ms = carrel["median_us"] / 1000
    lines = [
        HEADING,
        "",
        f"The library of the retention benchmark above, before its run: {int(retention['rows']):,} "
        "returned loans over three years, every link still in place. For "
        f"{int(d['patrons_extracted'])} patrons picked at random, one at a time, on a library "
        "opened afresh for each (every key cold, as for a case's first package), the calls the "
        "disclosure package makes for a patron in scope of every category: the patron, current "
        "loans, the loan history (its link tags computed under every live day key, the rows found "
        "through the tag index, each link opened to confirm the patron), holds, fines, and the "
        "item of each record (the items read together), every call audited as it is when a package "
        "is made, all in one transaction with one commit. The bare "
        "storage engine then reads exactly the same history rows and items by primary key through "
        "the SQLite C API, in one read transaction: the floor, with no tag to compute, nothing to "
        "decrypt and no audit entry.",
        "",
        "| Measurement | Median | p99 | Mean |",
        "|---|---:|---:|---:|",
        f"| History rows per patron | {rows['median_us']:,.0f} | {rows['p99_us']:,.0f} | "
        f"{rows['mean_us']:,.0f} |",
        f"| carrel: one patron's records | {carrel['median_us'] / 1000:.1f} ms | "
        f"{carrel['p99_us'] / 1000:.1f} ms | {carrel['mean_us'] / 1000:.1f} ms |",
        f"| Bare SQLite: the same rows by primary key | {bare['median_us'] / 1000:.2f} ms | "
        f"{bare['p99_us'] / 1000:.2f} ms | {bare['mean_us'] / 1000:.2f} ms |",
        "",
        "| Target | Measured | Goal | Result |",
        "|---|---:|---:|---|",
        f"| One patron's records, median | {median_ms:.1f} ms | < {GOAL_MS} ms | "
        f"{'PASS' if median_ms < GOAL_MS else '**FAIL**'} |",
        f"| carrel / bare, medians | {carrel['median_us'] / bare['median_us']:,.0f}× | — | |",
        f"| carrel / bare, p99 | {carrel['p99_us'] / bare['p99_us']:,.0f}× | — | |",
        "",
        "The goal is judged on the median, a typical extraction. The slow tail is reported, not "
        "judged: each extraction commits its audit entries durably (one fsync), and the bare "
        "read's own p99 in the same run shows how much of the tail is the machine's.",
        "",
    ]
    if note:
        lines += [note, ""]
    return lines


def splice(document, lines):
    """The document with this section replaced by `lines` (placed before the API contract's
    section when the document has none yet)."""
    text = "\n".join(lines) + "\n"
    if HEADING in document:
        start = document.index(HEADING)
        end = document.index("\n## ", start + len(HEADING)) + 1
        return document[:start] + text + document[end:]
    at = document.index("## Checking requests against the API contract")
    return document[:at] + text + document[at:]
