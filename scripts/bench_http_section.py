"""The "HTTP API under load" section of docs/BENCHMARKS.md, from scripts/bench-http.sh's JSON.

Used by scripts/bench.sh, for the whole document and for `CARREL_BENCH_PARTS=http make bench`,
which measures this section alone and puts it in place of the one in the document.
"""

HEADING = "## The HTTP API under load"


def _pass(ok):
    return "PASS" if ok else "FAIL"


def section(http, bare_durable, note="", baseline="the previous server", baseline_goal=1.0):
    """Lines of the section; `bare_durable` is the bare durable transaction rate of this run;
    `baseline` names the earlier carrel measured in the same run (if any), and `baseline_goal`
    is the least share of its rate that passes."""
    c8, c64 = http["closed-8"], http["closed-64"]
    rates = http["paced_rates"]
    paced = {r: http[f"paced-64-{r:g}"] for r in rates}
    top = max(rates)
    slow, logins = http["slow"], http["logins"]
    seconds = http["seconds_each"]
    baseline8, baseline64 = http.get("baseline-8"), http.get("baseline-64")
    lines = [HEADING, ""]
    if note:
        lines += [note, ""]
    lines += [
        f"`carrel serve` on the seeded library above, and `carrel_http_load` in its own process "
        f"over loopback, each load for {seconds:.0f} s. Every checkout and every checkin is one "
        "request and one durable transaction (encryption and audit on), on keep-alive "
        "connections authenticated with a staff session. A *closed* load sends each "
        "connection's next request as soon as the last is answered: it measures the most the "
        "server does, and its latency is then mostly queueing (with n connections the mean is "
        "n divided by the rate). A *paced* load sends a fixed number of requests a second, "
        "spread over the connections, and counts each latency from the moment the request was "
        "due, so a server that falls behind is charged for it. The paced loads run at "
        + ", ".join(f"{r:,.0f}" for r in rates) + " requests/s in all; the highest, "
        f"{top:,.0f}/s, is what the previous server (cpp-httplib, a thread per connection from "
        "a pool of 8) reached at 64 closed connections.",
        "",
        "The library's due retention run (and the clearing of the ciphertext it leaves) is "
        "done before the loads, as it would have been the night before; otherwise the server "
        "would do it in the background during the loads. For the paced loads, \"client late\" "
        "is how late the load generator's own threads woke for a request that was due (64 "
        "threads on the same two cores as the server): that part of the latency is the "
        "client's, not the server's.",
        "",
        "| Load | Requests/s | p50 | p99 | Client late, p99 | Requests (errors) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    loads = [("Closed, 8 connections", c8), ("Closed, 64 connections", c64)]
    loads += [(f"Paced at {r:,.0f}/s, 64 connections", paced[r]) for r in rates]
    for label, h in loads:
        late = f"{h['client_late_p99_ms']:.1f} ms" if "client_late_p99_ms" in h else "—"
        lines.append(f"| {label} | {h['requests_per_second']:,.0f} | {h['p50_ms']:.1f} ms | "
                     f"{h['p99_ms']:.1f} ms | {late} | {h['requests_ok']:,} ({h['errors']}) |")
    if baseline8 and baseline64:
        for label, h in ((f"Baseline ({baseline}), closed, 8 connections", baseline8),
                         (f"Baseline ({baseline}), closed, 64 connections", baseline64)):
            lines.append(f"| {label} | {h['requests_per_second']:,.0f} | {h['p50_ms']:.1f} ms | "
                         f"{h['p99_ms']:.1f} ms | — | {h['requests_ok']:,} ({h['errors']}) |")
    lines += ["", "| Target | Measured | Goal | Result |", "|---|---:|---:|---|"]
    for label, h in (("8 connections", c8), ("64 connections", c64)):
        ratio = h["requests_per_second"] / bare_durable
        lines.append(f"| Closed, {label}: rate / bare durable transaction rate "
                     f"({bare_durable:,.0f}/s, same run) | {ratio:.2f} | ≥ 0.50 | "
                     f"{_pass(ratio >= 0.5)} |")
    if baseline8 and baseline64:
        for label, h, b in (("8", c8, baseline8), ("64", c64, baseline64)):
            ratio = h["requests_per_second"] / b["requests_per_second"]
            lines.append(f"| Closed, {label} connections: rate / {baseline}'s, same run | "
                         f"{ratio:.2f} | ≥ {baseline_goal:.2f} | {_pass(ratio >= baseline_goal)} |")
    else:
        lines.append(f"| Closed, 64 connections: rate / the previous server's 2,170/s | "
                     f"{c64['requests_per_second'] / 2170:.2f} | ≥ 1.00 | "
                     f"{_pass(c64['requests_per_second'] >= 2170)} |")
    for r in rates:
        lines.append(f"| Paced at {r:,.0f}/s, 64 connections: p99 | {paced[r]['p99_ms']:.1f} ms "
                     f"| < 20 ms | {_pass(paced[r]['p99_ms'] < 20)} |")
    lines += [
        f"| Closed, 64 connections: p99 | {c64['p99_ms']:.1f} ms | < 20 ms | "
        f"{_pass(c64['p99_ms'] < 20)} |",
        f"| Ordinary requests while {slow['slow_connections']:,} slow connections are held: p99 "
        f"| {slow['p99_ms']:.1f} ms | < 100 ms | {_pass(slow['p99_ms'] < 100)} |",
        f"| Server resident memory, idle | {http['rss_idle_kib'] / 1024:.1f} MiB | < 64 MiB | "
        f"{_pass(http['rss_idle_kib'] / 1024 < 64)} |",
        f"| Server resident memory, after the circulation loads | "
        f"{http['rss_load_kib'] / 1024:.1f} MiB | < 256 MiB | "
        f"{_pass(http['rss_load_kib'] / 1024 < 256)} |",
        f"| Server resident memory, after the slow connections | "
        f"{http['rss_slow_kib'] / 1024:.1f} MiB | < 256 MiB | "
        f"{_pass(http['rss_slow_kib'] / 1024 < 256)} |",
        "",
        f"Slow clients: {slow['slow_connections']:,} connections from "
        f"{slow['slow_sources']} loopback addresses (under the cap of 128 per address), each "
        "sending its request head one line every 2 s and opened again when the server cuts it "
        f"at the 10 s head deadline ({slow['slow_reopened']:,} reopened, "
        f"{slow['slow_lines_sent']:,} lines sent). Meanwhile `GET /api/v1/hours` on a new "
        f"connection 50 times a second from another address: {slow['requests']:,} requests, "
        f"{slow['failed']} failed, p50 {slow['p50_ms']:.1f} ms, p99 {slow['p99_ms']:.1f} ms, "
        f"slowest {slow['max_ms']:.1f} ms.",
        "",
        f"Login (Argon2id at libsodium's interactive limits), median of 10: "
        f"{logins.get('login_p50_ms', 0):.0f} ms.",
        "",
        "How the closed 64-connection latency comes about: with 64 requests always "
        "outstanding, the mean latency is 64 divided by the rate, whatever the server "
        "does, so the tail is the rate's and the steadiness's. Write transactions are "
        "serialized on SQLite's one writer and combined: the first caller to find nobody "
        "writing runs every queued transaction in one batch and one commit (at most 32), "
        "then hands the role on. Handlers are let in a few at a time, twice the cores, in "
        "the order their requests came, and give up their place while their write waits "
        "for its batch (src/util/cpu_gate.h). Without that line (up to 869062a), 64 "
        "handler threads shared two cores in the kernel's slices, the thread running a "
        "batch was descheduled in the middle of it now and then, a batch of about 3 ms "
        "took 20 to 30, and every request in it waited: in alternating runs on one "
        "machine, p99 21 to 28 ms before, 15 to 23 ms after (six runs each), with 9% more "
        "requests a second and 12% less server CPU per request. A paced load at the previous "
        "server's saturation rate (2,170/s) is the fair comparison of latency; the rows "
        "above show how the tail grows as the rate nears saturation.",
        "",
    ]
    return lines


def splice(document, lines):
    """The document with its HTTP section replaced by `lines`."""
    start = document.index(HEADING)
    end = document.index("\n## ", start + len(HEADING)) + 1
    return document[:start] + "\n".join(lines) + document[end:]
