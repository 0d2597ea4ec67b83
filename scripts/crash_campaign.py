#!/usr/bin/env python3
"""Crashes under mixed load (scripts/crash-campaign.sh runs this; see docs/reliability.md).

Makes a small demo library, then ROUNDS times: serves it, runs checkouts, checkins, renewals,
holds, patron registrations, request intakes and acknowledgements from several clients at
once, a retention run and a backup beside them, and kills the server with SIGKILL at a random
moment. After each kill, before and after restarting, it checks:
  - the audit log verifies offline against the signed head taken before the kill;
  - every operation the server acknowledged is there, and every one in flight at the kill is
    settled by sending it again with the same Idempotency-Key (a client's retry): it is then
    either there once or refused, never twice;
  - nothing is half applied: each item's status agrees with the loans (checked out to the
    patron the clients know, or on the shelf with no loan), each hold acknowledged exists;
  - retention's runs and plan agree: no run is left unfinished once retention runs again,
    and right after it nothing is due.
Prints one line per round and a summary; exits non-zero at the first broken check.

    scripts/crash_campaign.py [--rounds 100] [--carrel build/release/carrel] [--seed N]
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from demo_server import free_port, log_in, make_demo_library, wait_serving



class Broken(Exception):
    pass


class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def call(self, method, path, body=None, key=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if key:
            headers["Idempotency-Key"] = key
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body),
                         headers=headers)
            r = conn.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else None)
        finally:
            conn.close()


class Server:
    def __init__(self, carrel, data, port, log):
        self.carrel, self.data, self.port, self.log = carrel, data, port, log
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.carrel, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=self.log)
        if not wait_serving(self.port, self.proc):
            raise Broken("the server did not answer within 30 s of starting")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Op:
    """One request a client makes, its Idempotency-Key, and what it does to the model."""

    def __init__(self, kind, method, path, body, apply):
        self.kind, self.method, self.path, self.body, self.apply = kind, method, path, body, apply
        self.key = "crash-" + uuid.uuid4().hex


class Client:
    """A desk with its own items and patrons, so that its model is exact."""

    def __init__(self, number, desk, director, items, hold_items, cards, rng):
        self.number, self.desk, self.director = number, desk, director
        self.items = {b: None for b in items}  # barcode -> card it is out to, or None
        self.hold_items = hold_items
        self.cards = cards
        self.rng = rng
        self.holds = set()     # hold ids acknowledged
        self.patrons = {}      # card -> id of patrons registered
        self.cases = {}        # reference -> state
        self.pending = []      # ops in flight at the kill
        self.acknowledged = 0  # answered, taken or refused
        self.applied = 0       # of which taken (2xx)
        self.kinds = {}        # taken, by kind
        self.next_card = 0

    def next_op(self):
        r = self.rng.random()
        barcode = self.rng.choice(sorted(self.items))
        out_to = self.items[barcode]
        if r < 0.55:
            if out_to is None:
                card = self.rng.choice(self.cards)

                def apply(status, body, barcode=barcode, card=card):
                    if status == 201:
                        self.items[barcode] = card
                return Op("checkout", "POST", "/api/v1/loans",
                          {"item_barcode": barcode, "card_barcode": card}, apply)

            def apply(status, body, barcode=barcode):
                if status == 200:
                    self.items[barcode] = None
            return Op("checkin", "POST", "/api/v1/loans/checkin", {"item_barcode": barcode}, apply)
        if r < 0.70 and out_to is not None:
            return Op("renew", "POST", "/api/v1/loans/renew", {"item_barcode": barcode},
                      lambda status, body: None)
        if r < 0.80:
            def apply(status, body):
                if status == 201:
                    self.holds.add(body["id"])
            return Op("hold", "POST", "/api/v1/holds",
                      {"item_barcode": self.rng.choice(self.hold_items),
                       "card_barcode": self.rng.choice(self.cards)}, apply)
        if r < 0.90:
            self.next_card += 1
            card = "29%02d%010d" % (self.number, self.next_card)

            def apply(status, body, card=card):
                if status == 201:
                    self.patrons[card] = body["id"]
            return Op("register", "POST", "/api/v1/patrons",
                      {"card_barcode": card, "name": "Crash Test %d" % self.next_card,
                       "expires_on": "2030-12-31"}, apply)
        received = [ref for ref, state in self.cases.items() if state == "received"]
        if received and self.rng.random() < 0.6:
            ref = self.rng.choice(received)

            def apply(status, body, ref=ref):
                if status == 200:
                    self.cases[ref] = body["state"]
            op = Op("acknowledge", "POST", "/api/v1/requests/%s/acknowledge" % ref, {}, apply)
            op.director = True
            return op

        def apply(status, body):
            if status == 201:
                self.cases[body["reference"]] = body["state"]
        return Op("intake", "POST", "/api/v1/requests",
                  {"type": "law_enforcement", "asked": "circulation records",
                   "agency": "County Police", "name": "Officer on duty", "badge": "0000",
                   "callback_number": "555-0100",
                   "callback_source": "the county's published directory",
                   "arrived_by": "in person", "process": "none"}, apply)

    def send(self, op):
        api = self.director if getattr(op, "director", False) else self.desk
        status, body = api.call(op.method, op.path, op.body, key=op.key)
        if status >= 500 and status != 503:
            raise Broken("%s answered %d: %s" % (op.kind, status, body))
        if status in (408, 429, 503):
            raise OSError("busy")  # not settled: sent again later with the same key
        op.apply(status, body)
        self.acknowledged += 1
        if 200 <= status < 300:
            self.applied += 1
            self.kinds[op.kind] = self.kinds.get(op.kind, 0) + 1

    def run(self, stop):
        while not stop.is_set():
            op = self.next_op()
            try:
                self.send(op)
            except (OSError, http.client.HTTPException):
                self.pending.append(op)
                return

    def settle(self):
        """Sends the ops in flight at the kill again, with their keys."""
        pending, self.pending = self.pending, []
        for op in pending:
            for _ in range(20):
                try:
                    self.send(op)
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise Broken("an operation in flight at the kill could not be settled")
        return len(pending)


def sql(db, query, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def check_model(clients, data):
    """Items, loans, holds, patrons and cases as the clients know them."""
    db = os.path.join(data, "carrel.db")
    for c in clients:
        for barcode, out_to in c.items.items():
            status, item = c.desk.call("GET", "/api/v1/items/" + barcode)
            if status != 200:
                raise Broken("item %s: %d" % (barcode, status))
            want = "available" if out_to is None else "on_loan"
            if item["status"] != want:
                raise Broken("item %s is %s where the acknowledged operations leave it %s"
                             % (barcode, item["status"], want))
            loans = sql(db, "SELECT count(*) FROM loans WHERE item_id = ?", (item["id"],))[0][0]
            if loans != (0 if out_to is None else 1):
                raise Broken("item %s is %s with %d loans: half applied" %
                             (barcode, item["status"], loans))
        for hold in c.holds:
            if sql(db, "SELECT count(*) FROM holds WHERE id = ?", (hold,))[0][0] != 1:
                raise Broken("an acknowledged hold (%d) is missing" % hold)
        for card, pid in c.patrons.items():
            status, p = c.desk.call("GET", "/api/v1/patrons/%d" % pid)
            if status != 200 or p["card_barcode"] != card:
                raise Broken("an acknowledged registration (patron %d) is missing" % pid)
        for ref, state in c.cases.items():
            status, case = c.director.call("GET", "/api/v1/requests/" + ref)
            if status != 200 or case["state"] != state:
                raise Broken("request %s is not in its acknowledged state %s" % (ref, state))


def check_retention(director):
    status, run = director.call("POST", "/api/v1/retention/runs", timeout=120)
    if status != 201:
        raise Broken("retention did not run after the restart: %d %s" % (status, run))
    status, runs = director.call("GET", "/api/v1/retention/runs?limit=1000")
    unfinished = [r["id"] for r in runs["runs"] if r["finished_at"] is None]
    if unfinished:
        raise Broken("retention runs left unfinished: %s" % unfinished)
    status, plan = director.call("GET", "/api/v1/retention/plan")
    due = {c["category"]: c["remove"] for c in plan["counts"] if c["remove"] or c["keys"]}
    if due:
        raise Broken("right after a retention run, the plan still has records due: %s" % due)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--carrel", default="build/release/carrel")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the library directory")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    carrel = os.path.abspath(args.carrel)
    work = tempfile.mkdtemp(prefix="carrel-crash-")
    data = os.path.join(work, "library")
    log = open(os.path.join(work, "server.log"), "ab")
    print("crash campaign: seed %d, %d rounds, in %s" % (args.seed, args.rounds, work), flush=True)
    make_demo_library(carrel, data, 300, 2000, 1000)
    key = subprocess.run([carrel, "audit", "key", "--data", data], check=True,
                         capture_output=True, text=True).stdout.strip()
    key_file = os.path.join(work, "verifier.key")
    with open(key_file, "w") as f:
        f.write(key + "\n")

    port = free_port()
    server = Server(carrel, data, port, log)
    try:
        return campaign(args, rng, carrel, work, data, key_file, port, server)
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


def campaign(args, rng, carrel, work, data, key_file, port, server):
    server.start()
    try:
        tokens = log_in(port, ("desk", "demo-director"))
    except RuntimeError as e:
        raise Broken(str(e))
    desk, director = Api(port, tokens["desk"]), Api(port, tokens["demo-director"])
    # Items on the shelf at the start, shared out among the clients.
    shelf = []
    for n in range(1, 2001):
        barcode = "3100%010d" % n
        status, item = desk.call("GET", "/api/v1/items/" + barcode)
        if status == 200 and item["status"] == "available":
            shelf.append(barcode)
        if len(shelf) >= args.clients * 14:
            break
    cards = ["2100%010d" % n for n in range(1, 301)]
    clients = []
    for i in range(args.clients):
        own = shelf[i * 14:i * 14 + 10]
        holds = shelf[i * 14 + 10:i * 14 + 14]
        clients.append(Client(i, desk, director, own, holds,
                              rng.sample(cards, 20), random.Random(rng.random())))

    totals = {"acknowledged": 0, "settled": 0, "retention_started": 0, "backups": 0,
              "retention_checks": 0}
    started = time.time()
    for round_no in range(1, args.rounds + 1):
        status, head = director.call("GET", "/api/v1/audit/head")
        if status != 200:
            raise Broken("no signed head before the kill: %d" % status)
        head_file = os.path.join(work, "head-before-kill")
        with open(head_file, "w") as f:
            f.write(head["checkpoint"])
        stop = threading.Event()
        threads = [threading.Thread(target=c.run, args=(stop,)) for c in clients]
        before = sum(c.acknowledged for c in clients)
        for t in threads:
            t.start()
        extra = None
        r = rng.random()
        if r < 0.3:
            def retention():
                try:
                    director.call("POST", "/api/v1/retention/runs", timeout=120)
                except (OSError, http.client.HTTPException):
                    pass  # killed under way: the next run finishes it
            extra = threading.Thread(target=retention)
            extra.daemon = True
            extra.start()
        backup = None
        if rng.random() < 0.3:
            backup = subprocess.Popen(
                [carrel, "backup", "--data", data, "--out",
                 os.path.join(work, "backup-%d.db" % round_no)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 2.5))
        server.kill()
        for t in threads:
            t.join()
        if extra is not None:
            extra.join(timeout=5)
            totals["retention_started"] += 1
        if backup is not None:
            code = backup.wait()
            out = os.path.join(work, "backup-%d.db" % round_no)
            if code == 0:
                if sql(out, "PRAGMA quick_check")[0][0] != "ok":
                    raise Broken("a backup that said it was written is damaged")
                totals["backups"] += 1
                os.remove(out)
        # The log, offline, against the head taken before the kill.
        v = subprocess.run([carrel, "audit", "verify", "--data", data, "--from-head", head_file,
                            "--key-file", key_file], capture_output=True, text=True)
        if v.returncode != 0:
            raise Broken("the audit log does not verify after the kill: %s" % v.stderr.strip())
        server.start()
        settled = sum(c.settle() for c in clients)
        check_model(clients, data)
        if rng.random() < 0.2 or round_no == args.rounds:
            check_retention(director)
            totals["retention_checks"] += 1
        done = sum(c.acknowledged for c in clients) - before
        totals["acknowledged"] += done
        totals["settled"] += settled
        print("round %3d: killed after %4d acknowledged operations, %d in flight settled; "
              "log verified, nothing lost or half applied" % (round_no, done, settled),
              flush=True)
    applied = sum(c.applied for c in clients)
    print("crash campaign: %d kills in %.0f s; %d operations answered (%d taken, the rest "
          "refused as the rules say), %d in flight at a kill settled by their retry; %d "
          "retention runs started beside the load and %d backups written; retention runs and "
          "plan checked %d times; nothing lost, nothing half applied, the log verified after "
          "every kill (seed %d)"
          % (args.rounds, time.time() - started, totals["acknowledged"], applied,
             totals["settled"], totals["retention_started"], totals["backups"],
             totals["retention_checks"], args.seed), flush=True)
    kinds = {}
    for c in clients:
        for kind, n in c.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + n
    print("crash campaign: taken by kind: " +
          ", ".join("%s %d" % (k, kinds[k]) for k in sorted(kinds)), flush=True)
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    # Stopped from outside (timeout, Ctrl-C): the server is stopped too, by the cleanup above.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except Broken as e:
        print("crash campaign: BROKEN: %s" % e, file=sys.stderr, flush=True)
        sys.exit(1)
