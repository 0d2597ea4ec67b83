"""The "SIP2 kiosks" section of docs/BENCHMARKS.md from scripts/bench-sip2.sh's figures."""

from bench_splice import place

HEADING = "## SIP2 kiosks"


def section(f, note):
    one, many, fifty = f["one_loan"], f["many_loans"], f["fifty"]
    bare = f["bare_per_second"]
    bare_ms = 1000 / bare
    lines = [HEADING, "", note, "",
             "`carrel serve --sip2` on loopback over a seeded library (2,000 patrons, 8,000 "
             "items). Kiosks are accounts made by the administrator, approved by the Director "
             "and given their own passwords, as in `docs/sip2.md`. Each kiosk logs in once (93), "
             "then lends an item (11, with the patron's card and PIN) and takes it back (09), "
             "again and again, each as soon as the last is answered. Latency is from the write "
             "of a message to the whole answer, in `carrel_sip2_load`, a separate process. Every "
             "message is a SIP2 exchange, a call of the kiosk route through the API's "
             "dispatcher, and one durable transaction with its audit entry and Idempotency-Key "
             "record. The bare engine is a durable single-row SQLite transaction in the same "
             f"run: {bare:,.0f}/s ({bare_ms:.2f} ms each, median of 9).", "",
             "| Run | Checkouts | Messages/s | Checkout p50 / p95 / p99, ms | Checkin p99, ms | "
             "Checkout p99 / bare transaction |",
             "|---|---:|---:|---|---:|---:|"]
    for label, r in [("1 kiosk, patron with 1 loan out", one),
                     (f"1 kiosk, patron with {f['loans_out']} loans out", many),
                     (f"{fifty['kiosks']} kiosks at once", fifty)]:
        c = r["checkout_ms"]
        lines.append(f"| {label} | {r['checkouts']:,} | {r['messages_per_second']:,.0f} | "
                     f"{c['p50']:.2f} / {c['p95']:.2f} / {c['p99']:.2f} | "
                     f"{r['checkin_ms']['p99']:.2f} | {c['p99'] / bare_ms:.1f}x |")
    fails = one["failures"] + many["failures"] + fifty["failures"]
    examples = sorted({e for r in (one, many, fifty) for e in r.get("failure_examples", [])})
    said = f" (for example: {'; '.join(examples)})" if examples else ""
    lines += ["", f"Refused or failed messages: {fails}{said}. Server peak resident memory "
              f"{f['server_peak_mib']:.0f} MiB.", "",
              "| Target | Measured | Goal | Result |", "|---|---:|---:|---|"]
    for label, r in [("Checkout p99, patron with 1 loan", one),
                     (f"Checkout p99, patron with {f['loans_out']} loans", many)]:
        p99 = r["checkout_ms"]["p99"]
        lines.append(f"| {label} | {p99:.2f} ms | < 10 ms | "
                     f"{'met' if p99 < 10 else 'NOT met'} |")
    lines.append(f"| {fifty['kiosks']} kiosks at once: throughput, checkout p99 | "
                 f"{fifty['messages_per_second']:,.0f} messages/s, "
                 f"{fifty['checkout_ms']['p99']:.2f} ms | reported | — |")
    lines.append("")
    return lines


def splice(document, lines):
    return place(document, HEADING, lines)
