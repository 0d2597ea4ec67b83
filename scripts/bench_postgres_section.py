"""The "PostgreSQL" section of docs/BENCHMARKS.md from scripts/bench-postgres.sh's figures."""

from bench_splice import place

HEADING = "## PostgreSQL"


def section(f, note):
    pg, lite = f["bare_postgresql_tps"], f["bare_sqlite_tps"]

    def row(label, loads):
        rate = sum(h["requests_per_second"] for h in loads)
        p99 = max(h["p99_ms"] for h in loads)
        p50 = max(h["p50_ms"] for h in loads)
        ok = sum(h["requests_ok"] for h in loads)
        errors = sum(h["errors"] for h in loads)
        return rate, (f"| {label} | {rate:,.0f} | {p50:.1f} ms | {p99:.1f} ms | {ok:,} ({errors}) |")

    lines = [HEADING, "", note, "",
             f"A library of {f['patrons']:,} patrons, {f['items']:,} items and {f['loans']:,} "
             "returned loans on a PostgreSQL 15 server of the run's own on this machine (fsync "
             "and synchronous commit on, loopback), its records and keyring in two databases. "
             "Closed loads of checkouts and checkins over HTTP (carrel_http_load, "
             f"{f['seconds_each']:.0f} s each), with one `carrel serve` and with two on the same "
             "database (the connections split between them, each on items of its own); then the "
             "same library restored from its backups onto SQLite files, and the same loads. "
             "The bare rates are one single-row durable transaction at a time from one client: "
             "pgbench through libpq, and SQLite in WAL mode with synchronous=FULL.", "",
             "| Load | Requests/s | p50 | p99 | Requests (errors) |", "|---|---:|---:|---:|---:|"]
    rates = {}
    for key, label, names in [
            ("pg1-8", "PostgreSQL, one server, 8 connections", ["postgresql-one-8"]),
            ("pg1-64", "PostgreSQL, one server, 64 connections", ["postgresql-one-64"]),
            ("pg2-8", "PostgreSQL, two servers, 4 + 4 connections",
             ["postgresql-two-8-a", "postgresql-two-8-b"]),
            ("pg2-64", "PostgreSQL, two servers, 32 + 32 connections",
             ["postgresql-two-64-a", "postgresql-two-64-b"]),
            ("sq-8", "SQLite, one server, 8 connections", ["sqlite-one-8"]),
            ("sq-64", "SQLite, one server, 64 connections", ["sqlite-one-64"])]:
        if all(n in f for n in names):
            rates[key], text = row(label, [f[n] for n in names])
            lines.append(text)
    lines += ["", f"Bare single-row durable transactions: PostgreSQL {pg:,.0f}/s, SQLite "
              f"{lite:,.0f}/s.", "",
              "| Target | Measured | Goal | Result |", "|---|---:|---:|---|"]
    best = max(rates.get("pg1-8", 0), rates.get("pg1-64", 0))
    if pg > 0:
        ratio = best / pg
        lines.append(f"| One server on PostgreSQL / bare libpq durable transactions | "
                     f"{ratio:.2f} | ≥ 0.5 | {'met' if ratio >= 0.5 else 'not met'} |")
    if lite > 0 and "sq-64" in rates:
        lines.append(f"| One server on SQLite / bare SQLite durable transactions | "
                     f"{max(rates.get('sq-8', 0), rates['sq-64']) / lite:.2f} | (for comparison) | — |")
    lines += ["", "Each request is one write transaction, and on PostgreSQL every write transaction "
              "holds one advisory lock from its first statement to its commit (docs/design.md §10), "
              "so writes are serialized across servers as SQLite serializes them in one process: "
              "a second server adds no write throughput, and on two cores it also competes with "
              "the first and with PostgreSQL for the same processors. What it gives is a server "
              "that keeps answering when the other is lost.", ""]
    cpu = f.get("cpu-postgresql")
    if cpu and pg > 0:
        lines += [f"Where the time goes, at 8 connections on one server: PostgreSQL spent "
                  f"{cpu['postgres_ms']:.2f} ms of processor time per request and carrel "
                  f"{cpu['carrel_ms']:.2f} ms; the machine was idle {100 * cpu['idle_share']:.0f}% "
                  "of the time (waiting on the write lock and the disk). A checkout is some twenty "
                  "statements: the session, the item and the patron read, the loan, the item's "
                  "status, the audit entry (its latest leaf, the policy version in force, the "
                  "entry and its tree nodes), the patron's last activity, the keyring's patron "
                  "key, the answer's read, and the BEGIN and COMMIT of three transactions; the "
                  "bare transaction is one insert. The goal gives a checkout at most twice a bare "
                  f"transaction's time, {2000 / pg:.2f} ms here, which on two cores is "
                  f"{4000 / pg:.2f} ms of processor time at best; PostgreSQL's and carrel's own "
                  "work per checkout add up to more than that. Statements whose outcome nobody reads are already sent "
                  "without waiting (libpq's pipeline mode, `Transaction::Send`); closing the gap "
                  "needs fewer statements per request (the reads folded into the writes, one "
                  "keyring lookup per patron and request) or more processors.", ""]
    return lines


def splice(document, lines):
    return place(document, HEADING, lines)
