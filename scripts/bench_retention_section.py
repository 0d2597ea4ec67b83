"""The section of docs/BENCHMARKS.md on retention at scale (bench/scale/retention.cc): the run
against one SQL UPDATE, and reclaiming dead ciphertext while the desk circulates. Written by
scripts/bench.sh (CARREL_BENCH_PARTS=retention, or a whole run)."""

HEADING = "## Retention"


def section(retention, note=""):
    lines = [
        HEADING,
        "",
        f"A library seeded with {int(retention['rows']):,} returned loans spread over three years "
        f"(`SeedDemoLibrary`: 20,000 patrons, 50,000 items, with fines, holds and computer sessions; "
        f"{retention['seed_seconds']:.0f} s, database {retention['db_bytes'] / 2**20:,.0f} MiB), and a "
        f"schedule signed by the Director that keeps every kind of link {int(retention['keep_days'])} "
        f"days: a run at 03:00 (library closed) removes the oldest year, every link of a day returned "
        f"before {retention['cutoff']}. Other library systems remove links with one SQL UPDATE "
        "setting the patron link to NULL for the rows returned before the cutoff; that UPDATE ran on "
        "a byte-for-byte copy of the same database, in one durable transaction, in the same run. "
        "carrel's run destroys the epoch keys of those days (64 per keyring transaction), after "
        "counting what each seals and noting it; the run's other work is bookkeeping for its audit "
        "entry. The UPDATE also clears links of opted-in reading histories, which carrel keeps under "
        "the patron's own key, so it touches more rows.",
        "",
        "| Measurement | Result | Target | Result |",
        "|---|---:|---:|---|",
        f"| One UPDATE on the copy ({int(retention['update_rows']):,} rows) | "
        f"{retention['update_seconds']:.2f} s | — | |",
        f"| carrel: plan (counts per category) | {retention['plan_seconds']:.2f} s | — | |",
        f"| carrel: run, whole ({int(retention['links_removed']):,} links, "
        f"{int(retention['keys_destroyed']):,} keys) | {retention['run_seconds']:.2f} s | — | |",
        f"| carrel: key destruction within the run | {retention['key_seconds']:.3f} s | < 1 s | "
        f"{'PASS' if retention['key_seconds'] < 1 else 'FAIL'} |",
        f"| UPDATE / key destruction | {retention['update_seconds'] / retention['key_seconds']:,.0f}× | "
        f"≥ 100× | {'PASS' if retention['update_seconds'] / retention['key_seconds'] >= 100 else 'FAIL'} |",
        f"| UPDATE / whole run | {retention['update_seconds'] / retention['run_seconds']:,.0f}× | — | |",
        f"| Links the plan listed / the run removed | {int(retention['links_planned']):,} / "
        f"{int(retention['links_removed']):,} | equal | "
        f"{'PASS' if retention['links_planned'] == retention['links_removed'] else 'FAIL'} |",
        "",
        "Then the dead ciphertext is cleared from the rows in the background, as the server does it "
        f"({int(retention['reclaim_batch_rows'])} rows per transaction, "
        f"{int(retention['reclaim_pause_ms'])} ms apart while more remain), for at most 30 s, while a "
        "front-desk thread checks an item out and in every 5 ms (each one durable transaction, "
        "encryption and audit on); the same loop ran first with no reclaim.",
        "",
        "| Measurement | Result |",
        "|---|---:|",
        f"| Reclaim rate | {retention['reclaim_rate']:,.0f} rows/s ({int(retention['reclaimed_rows']):,} "
        f"rows in {retention['reclaim_seconds']:.1f} s) |",
        f"| Checkout or checkin, no reclaim: median / p99 | "
        f"{retention['circulation_quiet']['median_us'] / 1000:.2f} ms / "
        f"{retention['circulation_quiet']['p99_us'] / 1000:.2f} ms |",
        f"| Checkout or checkin during reclaim: median / p99 | "
        f"{retention['circulation_during_reclaim']['median_us'] / 1000:.2f} ms / "
        f"{retention['circulation_during_reclaim']['p99_us'] / 1000:.2f} ms |",
        "",
    ]
    if note:
        lines += [note, ""]
    return lines


def splice(document, lines):
    """The document with this section replaced by `lines`."""
    text = "\n".join(lines) + "\n"
    start = document.index(HEADING + "\n")
    end = document.index("\n## ", start + len(HEADING)) + 1
    return document[:start] + text + document[end:]
