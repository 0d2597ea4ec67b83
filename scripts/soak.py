#!/usr/bin/env python3
"""Soak (scripts/soak.sh runs this by hand; see docs/reliability.md).

Serves a demo library and sends it mixed load at a steady rate for MINUTES (default 75: a
15-minute warm-up, then the hour that is judged):
checkouts and checkins, renewals, holds, patron registrations and look-ups, item look-ups,
catalogue searches, the hours, and a retention run now and then. Every minute it samples the
server's resident memory (VmRSS), the part of it that is SQLite's (the server prints its memory
figures on SIGUSR1), its open file descriptors, and the p50 and p99 latency of that minute's
requests (timed from when each was due, so a server that falls behind is not flattered).

SQLite's page caches fill as the database grows, up to their fixed sizes (64 MiB for the
writer, 8 MiB for each reader), and that is not a leak; so memory is judged without them:
resident memory less SQLite's part. After a warm-up (WARMUP minutes, default 15) nothing may
grow by more than 10%: that memory, the descriptors (with 2 of slack) and p99 (with 2 ms),
each as the median of the last five samples over that of the first five after the warm-up (a
single minute's figures are noisy; the peaks are printed too). Prints a table as it goes and a
verdict; exits non-zero on growth.

    scripts/soak.py [--minutes 75] [--warmup 15] [--rate 30] [--carrel build/release/carrel]
                    [--patrons 100000 --items 200000 --loans 1000000 | --library DIR]

The default library (a 263 MiB database, seeded in about half a minute) is larger than
SQLite's caches, which fill in the first minutes, so what grows after the warm-up is carrel's
own. The keyring holds a patron's key until nobody has used it for 15 minutes, so the warm-up
is 15 minutes for the keys held to settle.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from demo_server import free_port, log_in, make_demo_library, wait_serving



class Conn:
    """One keep-alive connection with a token."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = None

    def call(self, method, path, body=None, idempotent=False):
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        if idempotent:
            headers["Idempotency-Key"] = "soak-" + uuid.uuid4().hex
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, None if body is None else json.dumps(body), headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        return 0, b""


MEMORY = re.compile(r"carrel: memory: resident (\d+) KiB, heap in use (\d+) KiB, "
                    r"heap free but held (\d+) KiB, SQLite (\d+) KiB \(highest \d+ KiB\), "
                    r"keys (\d+)")


# The load's mix: each kind of request and where its share of [0, 1) ends.
MIX = [("checkout", 0.25), ("checkin", 0.50), ("renew", 0.55), ("hold", 0.60),
       ("register", 0.63), ("patron", 0.73), ("item", 0.85), ("search", 0.93),
       ("hours", 0.9995), ("retention", 1.0)]


def proc_sample(server, log_path, seen):
    """(resident MiB, SQLite's MiB, heap in use MiB, keys held, descriptors): SIGUSR1 asks the
    server for its figures, read from its log past offset seen[0]."""
    fds = len(os.listdir("/proc/%d/fd" % server.pid))
    server.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(log_path, "rb") as f:
            f.seek(seen[0])
            text = f.read().decode("utf-8", "replace")
        m = MEMORY.search(text)
        if m:
            seen[0] += len(text[:m.end()].encode("utf-8"))
            rss, heap, _, sqlite = (int(m.group(i)) / 1024 for i in range(1, 5))
            return rss, sqlite, heap, int(m.group(5)), fds
        time.sleep(0.05)
    raise RuntimeError("the server did not report its memory on SIGUSR1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=75)
    ap.add_argument("--warmup", type=int, default=15)
    ap.add_argument("--rate", type=float, default=30, help="requests a second in all")
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--carrel", default="build/release/carrel")
    ap.add_argument("--library", help="soak a copy of this demo library (one a soak grew, say) "
                    "instead of a new one")
    ap.add_argument("--patrons", type=int, default=100000, help="the demo library's size")
    ap.add_argument("--items", type=int, default=200000)
    ap.add_argument("--loans", type=int, default=1000000, help="returned loans")
    args = ap.parse_args()
    carrel = os.path.abspath(args.carrel)
    work = tempfile.mkdtemp(prefix="carrel-soak-")
    data = os.path.join(work, "library")
    print("soak: %d minutes at %.0f requests/s; demo library in %s" %
          (args.minutes, args.rate, work), flush=True)
    if args.library:
        shutil.copytree(args.library, data)
    else:
        started = time.monotonic()
        make_demo_library(carrel, data, args.patrons, args.items, args.loans)
        print("soak: seeded %d patrons, %d items, %d returned loans in %.0f s; database %.0f MiB"
              % (args.patrons, args.items, args.loans, time.monotonic() - started,
                 os.path.getsize(os.path.join(data, "carrel.db")) / 2**20), flush=True)
    port = free_port()
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "ab")
    server = subprocess.Popen([carrel, "serve", "--data", data, "--listen",
                               "127.0.0.1:%d" % port], stdout=log, stderr=log)
    try:
        return run(args, port, server, log_path)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def run(args, port, server, log_path):
    if not wait_serving(port, server):
        print("soak: the server did not start")
        return 1
    tokens = log_in(port, ("desk", "demo-director"))

    lock = threading.Lock()
    latencies = []
    errors = {"5xx": 0, "failed": 0}
    stop = threading.Event()
    interval = args.threads / args.rate
    registered = [0]

    def worker(n):
        rng = random.Random(n)
        desk = Conn(port, tokens["desk"])
        director = Conn(port, tokens["demo-director"])
        due = time.monotonic() + rng.random() * interval
        while not stop.is_set():
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            r = rng.random()
            kind = next(k for k, upto in MIX if r < upto)
            item = "3100%010d" % rng.randint(1, args.items)
            card = "2100%010d" % rng.randint(1, args.patrons)
            try:
                if kind == "checkout":
                    status, _ = desk.call("POST", "/api/v1/loans",
                                          {"item_barcode": item, "card_barcode": card}, True)
                elif kind == "checkin":
                    status, _ = desk.call("POST", "/api/v1/loans/checkin",
                                          {"item_barcode": item}, True)
                elif kind == "renew":
                    status, _ = desk.call("POST", "/api/v1/loans/renew", {"item_barcode": item}, True)
                elif kind == "hold":
                    status, _ = desk.call("POST", "/api/v1/holds",
                                          {"item_barcode": item, "card_barcode": card}, True)
                elif kind == "register":
                    with lock:
                        registered[0] += 1
                        k = registered[0]
                    status, _ = desk.call("POST", "/api/v1/patrons",
                                          {"card_barcode": "28%02d%010d" % (n, k),
                                           "name": "Soak Reader %d" % k,
                                           "expires_on": "2030-12-31"}, True)
                elif kind == "patron":
                    status, _ = desk.call("GET", "/api/v1/patrons/%d" % rng.randint(1, args.patrons))
                elif kind == "item":
                    status, _ = desk.call("GET", "/api/v1/items/" + item)
                elif kind == "search":
                    status, _ = desk.call("GET", "/api/v1/catalogue/search?q=the")
                elif kind == "hours":
                    status, _ = desk.call("GET", "/api/v1/hours")
                else:
                    status, _ = director.call("POST", "/api/v1/retention/runs")
            except (OSError, http.client.HTTPException):
                with lock:
                    errors["failed"] += 1
                due += interval
                continue
            took = time.monotonic() - due
            with lock:
                latencies.append((took, kind))
                if status >= 500:
                    errors["5xx"] += 1
            due += interval

    threads = [threading.Thread(target=worker, args=(n,), daemon=True)
               for n in range(args.threads)]
    for t in threads:
        t.start()
    samples = []
    seen = [0]
    print("minute  rss_mib  sqlite_mib  rest_mib  heap_mib   keys  fds  requests   p50_ms   p99_ms"
          "  5xx  failed", flush=True)
    for minute in range(1, args.minutes + 1):
        time.sleep(60)
        with lock:
            this_minute, latencies[:] = list(latencies), []
            taken = sorted(t for t, _ in this_minute)
            e5, ef = errors["5xx"], errors["failed"]
        rss, sqlite, heap, keys, fds = proc_sample(server, log_path, seen)
        rest = rss - sqlite
        p50 = taken[len(taken) // 2] * 1000 if taken else 0
        p99 = taken[int(len(taken) * 0.99)] * 1000 if taken else 0
        samples.append((minute, rest, fds, len(taken), p50, p99, rss, sqlite, this_minute))
        print("%6d %8.1f %11.1f %9.1f %9.1f %6d %4d %9d %8.1f %8.1f %4d %7d"
              % (minute, rss, sqlite, rest, heap, keys, fds, len(taken), p50, p99, e5, ef),
              flush=True)
    stop.set()
    after = [s for s in samples if s[0] > args.warmup]
    if not after:
        print("soak: no samples after the warm-up")
        return 1
    # Growth is judged as a trend: the median of the last five samples over that of the first
    # five. glibc keeps freed heap in its arenas and hands it back as fragmentation allows, so a
    # single minute's resident memory rises and falls by a few MiB with no leak; the peaks are
    # printed beside the verdict.
    def first_last(i):
        return (statistics.median(s[i] for s in after[:5]),
                statistics.median(s[i] for s in after[-5:]))
    base_rss, tail_rss = first_last(1)
    base_fds, tail_fds = first_last(2)
    base_p99, tail_p99 = first_last(5)
    worst_rss = max(s[1] for s in after)
    worst_fds = max(s[2] for s in after)
    verdict = []
    if tail_rss > base_rss * 1.10:
        verdict.append("memory less SQLite's grew from %.1f to %.1f MiB" % (base_rss, tail_rss))
    if tail_fds > base_fds * 1.10 and tail_fds > base_fds + 2:
        verdict.append("descriptors grew from %d to %d" % (base_fds, tail_fds))
    if tail_p99 > max(base_p99 * 1.10, base_p99 + 2):
        verdict.append("p99 grew from %.1f to %.1f ms" % (base_p99, tail_p99))
    if errors["5xx"] or errors["failed"]:
        verdict.append("%d answers 5xx, %d requests failed" % (errors["5xx"], errors["failed"]))
    print("soak: p99 by kind of request, first and last five minutes after the warm-up (ms):")
    for k in sorted({k for s in after for _, k in s[8]}):
        def p99_of(window):
            t = sorted(x for s in window for x, kk in s[8] if kk == k)
            return "%8.1f (%5d)" % (t[int(len(t) * 0.99)] * 1000, len(t)) if t else "       -"
        print("  %-10s %s %s" % (k, p99_of(after[:5]), p99_of(after[-5:])), flush=True)
    print("soak: after the warm-up, resident memory %.1f -> %.1f MiB, of which SQLite's %.1f -> "
          "%.1f MiB; medians of the first and last five minutes: the rest %.1f -> %.1f MiB (%.1f "
          "at most), descriptors %d -> %d (%d at most), p99 %.1f -> %.1f ms"
          % (after[0][6], after[-1][6], after[0][7], after[-1][7], base_rss, tail_rss, worst_rss,
             base_fds, tail_fds, worst_fds, base_p99, tail_p99), flush=True)
    if verdict:
        print("soak: GREW: " + "; ".join(verdict), flush=True)
        return 1
    print("soak: no growth beyond 10% after the warm-up", flush=True)
    return 0


if __name__ == "__main__":
    # Stopped from outside (timeout, Ctrl-C): the server is stopped too, by the cleanup above.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
