"""The "Failover drill" section of docs/BENCHMARKS.md. scripts/failover-drill.sh writes it
through scripts/bench_splice.py (section and splice, as the other sections); a whole `make bench`
run, which rewrites the document, carries it over:

    failover_drill_section.py --keep OLD.md NEW.md
"""
import sys

HEADING = "## Failover drill"
BEFORE = "## Reading these figures"


def cut(document):
    """The section as it stands in `document`, or ""."""
    if HEADING not in document:
        return ""
    start = document.index(HEADING)
    end = document.find("\n## ", start + len(HEADING))
    return document[start:] if end < 0 else document[start:end + 1]


def splice(document, lines):
    text = "\n".join(lines)
    old = cut(document)
    if old:
        return document.replace(old, text)
    at = document.index(BEFORE)
    return document[:at] + text + document[at:]


def section(r, note):
    outage = ("%.1f s" % r["outage_seconds"]) if r["outage_seconds"] is not None else "writes did not return"
    return [
        HEADING, "", note + " Run by hand, as root.", "",
        "etcd, two PostgreSQL 15 nodes managed by Patroni (synchronous_mode, synchronous_commit on, "
        "ttl 20 s, loop_wait 1 s, the smallest ttl Patroni accepts), a library of 500 patrons and "
        "20,000 items on them, and two `carrel serve` processes connecting with a two-host "
        "connection string and target_session_attrs=read-write, all on loopback. Four clients "
        "check items out through both servers; after "
        f"{r['load_seconds']:.0f} s the primary's Patroni and PostgreSQL are killed with SIGKILL, "
        "as when its machine is lost. Afterwards every checkout that was answered 201 is looked "
        "up on the new primary, and `carrel audit verify` checks the log.", "",
        "| Measurement | Result | Target |",
        "|---|---:|---|",
        f"| Write outage (SIGKILL to the first checkout sent after it and answered) | {outage} | — |",
        f"| Checkouts answered before the kill / in all | {r['answered_before_kill']:,} / "
        f"{r['answered']:,} | — |",
        f"| Requests refused during the outage (503, nothing committed) | {r['failed_requests']:,} | — |",
        f"| Answered checkouts lost | {r['lost']} | 0 |",
        f"| Audit log verifies after the failover | {r['verified']} | yes |", "",
        "The outage is Patroni's: the standby is promoted only once the old primary's leader key "
        "expires in etcd (ttl). carrel itself needs no restart: transactions on the dead primary "
        "fail with 503, and the next connection finds the promoted node. Nothing answered is lost "
        "because a commit returns only once the synchronous standby has its write-ahead log.", "", "",
    ]


if __name__ == "__main__":
    old, new = sys.argv[2], sys.argv[3]  # --keep OLD.md NEW.md
    kept = cut(open(old).read())
    if kept:
        document = open(new).read()
        open(new, "w").write(splice(document, [kept]))
