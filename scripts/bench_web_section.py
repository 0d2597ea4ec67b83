"""The section of docs/BENCHMARKS.md on the web UI in Chromium (web/tests/bench.mjs), written by
scripts/bench.sh (CARREL_BENCH_PARTS=web, or a whole run)."""

HEADING = "## The web UI in Chromium"


def section(fig, note=""):
    ok_scan = fig["scan_p95_ms"] < 100
    ok_load = fig["first_load_bytes"] < 150 * 1024
    lines = [
        HEADING,
        "",
        "Debian's Chromium, headless, driven by playwright-core, against `carrel serve` on a demo "
        "library on this machine (`web/tests/bench.mjs`). A scan is measured in the page from "
        "its Enter to the next frame drawn after its line appears (title and due date, or the "
        f"reason it was refused): {fig['scans']} checkouts, twenty to each of ten patrons. The "
        "first load counts every byte the home page and the files it loads transfer, with "
        "nothing cached.",
        "",
        "| Target | Measured | Goal | Result |",
        "|---|---:|---:|---|",
        f"| Desk, scan to confirmation: p95 over {fig['scans']} scans | {fig['scan_p95_ms']:.1f} ms "
        f"(p50 {fig['scan_p50_ms']:.1f}, slowest {fig['scan_max_ms']:.1f}) | < 100 ms | "
        f"{'PASS' if ok_scan else '**FAIL**'} |",
        f"| First load of the home page, transferred | {fig['first_load_bytes'] / 1024:.1f} KiB | "
        f"< 150 KB | {'PASS' if ok_load else '**FAIL**'} |",
        "",
    ]
    if note:
        lines += [note, ""]
    return lines


def splice(document, lines):
    """The document with this section replaced by `lines` (placed before "Reading these
    figures" when the document has none yet)."""
    text = "\n".join(lines) + "\n"
    if HEADING in document:
        start = document.index(HEADING)
        end = document.index("\n## ", start + len(HEADING)) + 1
        return document[:start] + text + document[end:]
    at = document.index("## Reading these figures")
    return document[:at] + text + document[at:]
