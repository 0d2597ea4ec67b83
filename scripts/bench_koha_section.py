"""The "Import from Koha" section of docs/BENCHMARKS.md from scripts/bench-koha.sh's figures."""

from bench_splice import place

HEADING = "## Import from Koha"


def section(f, note):
    kinds = f["kinds"]
    minutes = f["seconds"] / 60
    lines = [HEADING, "", note, "",
             f"Files made by `bench/koha/generate.py` in Koha's export shapes: {f['patrons']:,} "
             f"patrons (every column of a full `borrowers` export, about 15% with Koha privacy "
             f"0), {f['items']:,} items in MARC 21 (ISO 2709, one to three 952 fields a "
             f"record), {f['loans']:,} current loans, {f['history']:,} returned loans and "
             f"{f['fines']:,} fines, imported into a fresh library by one `carrel import koha` "
             "(every patron field sealed under its own key, blind indexes, returned loans of "
             "opted-in patrons sealed under their key, batches of 2,000 rows each committed "
             "durably with the file's progress). Wall time and peak resident memory are the "
             "whole process's. The bare engine is the sqlite3 shell's `.import` of the same CSV "
             "file into a plain table (WAL, synchronous=FULL): no parsing beyond CSV, no "
             "encryption, nothing checked.", "",
             "| File | Rows | Brought in | Seconds | Rows/s | Bare SQLite .import, seconds |",
             "|---|---:|---:|---:|---:|---:|"]
    bare = f.get("bare_seconds", {})
    for key, label in [("patron", "Patrons (CSV)"), ("item", "Items (MARC 21, ISO 2709)"),
                       ("current loan", "Current loans (CSV)"),
                       ("returned loan", "Returned loans (CSV)"), ("fine", "Fines (CSV)")]:
        k = kinds.get(key)
        if not k:
            continue
        b = f"{bare[key]:.1f}" if key in bare else "—"
        lines.append(f"| {label} | {k['rows']:,} | {k['imported']:,} | {k['seconds']:.1f} | "
                     f"{k['rows_per_second']:,} | {b} |")
    lines += ["", f"Whole import: {f['seconds']:.0f} s ({minutes:.1f} min), peak resident memory "
              f"{f['peak_mib']:.0f} MiB; the library's files afterwards {f['library_mib']:,.0f} MiB.",
              "", "| Target | Measured | Goal | Result |", "|---|---:|---:|---|"]
    full = f["patrons"] >= 1000000 and f["items"] >= 1000000 and f["history"] >= 10000000
    scale = "" if full else " (a smaller run than the target's sizes: not judged)"
    lines.append(f"| 1,000,000 patrons, 1,000,000 items, 10,000,000 returned loans: wall time"
                 f"{scale} | {minutes:.1f} min | < 10 min | "
                 f"{('PASS' if minutes < 10 else 'FAIL') if full else '—'} |")
    lines.append(f"| Peak resident memory{scale} | {f['peak_mib']:.0f} MiB | < 512 MiB | "
                 f"{('PASS' if f['peak_mib'] < 512 else 'FAIL') if full else '—'} |")
    for key, label in [("patron", "Patrons"), ("returned loan", "Returned loans")]:
        if key in bare and key in kinds and bare[key] > 0:
            lines.append(f"| {label}: carrel's time / the bare .import's | "
                         f"{kinds[key]['seconds'] / bare[key]:.1f}× | (for comparison) | — |")
    lines += ["", "Most returned loans are not brought over at all: only patrons who keep a "
              "reading history have theirs imported (policy §2, §3), so the rate for that file "
              "is mostly reading, checking and counting.", ""]
    return lines


def splice(document, lines):
    return place(document, HEADING, lines)
