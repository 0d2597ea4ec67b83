#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that start from text (fuzz/corpus/TARGET/).

Run from the repository's root after `make openapi` when routes change:
    python3 fuzz/make_seeds.py
The proof and audit_entry seeds come from a real library (fuzz/make_log_seeds.sh); sip2_message's
were written by hand. Every value here is made up for the purpose: no patron's data.
"""
import hashlib
import json
import os
import struct

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def request_bodies():
    spec = yaml.safe_load(open(os.path.join(ROOT, "docs", "openapi.yaml")))
    n = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = ""
            rb = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "example" in rb:
                body = json.dumps(rb["example"])
            query = ""
            for p in op.get("parameters", []):
                if p.get("in") == "query" and "example" in p.get("schema", {}):
                    query += ("&" if query else "") + p["name"] + "=" + str(p["schema"]["example"])
            if not body and not query:
                continue
            n += 1
            put("request_body", "%03d" % n, "%s %s\n%s\n%s" % (method.upper(), path, query, body))


def http_heads():
    heads = {
        "get": "GET /api/v1/loans?patron=12&limit=50 HTTP/1.1\r\nHost: library.example.org\r\n"
               "Cookie: carrel_session=abc\r\nCookie: other=1\r\n\r\n",
        "post": "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 2\r\n\r\n{}",
        "forwarded": "GET /api/v1/me HTTP/1.1\r\nHost: x\r\n"
                     "Forwarded: for=192.0.2.60;proto=https, for=\"[2001:db8::1]:4711\"\r\n\r\n",
        "xff": "GET /api/v1/items/3100000001 HTTP/1.1\r\nHost: x\r\n"
               "X-Forwarded-For: 198.51.100.7, 127.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n",
        "encoded": "GET /api/v1/requests/R-2026-0001%2Fx?q=a+b%20c&q=%ZZ HTTP/1.0\r\n\r\n",
        "chunked": "POST /api/v1/holds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "2\r\n{}\r\n0\r\n\r\n",
    }
    for name, text in heads.items():
        put("http_head", name, b"\x01" + text.encode())
        put("http_head", name + "-untrusted", b"\x02" + text.encode())


def profiles():
    put("profile", "westport", open(os.path.join(ROOT, "profiles", "westport", "library.toml")).read())
    put("profile", "empty", "")
    put("profile", "bad-hours", '[library]\nname = "X"\ntime_zone = "America/New_York"\n'
        '[hours]\nmonday = "21:00-09:00"\n')


def disclosures():
    scope = {"patrons": [3, 9], "categories": ["loans", "patron"], "from": "2026-01-01",
             "to": "2026-06-30"}
    decision = json.dumps({"outcome": "release", "basis": "court_order", "scope": scope})
    package = json.dumps({"case": "R-2026-0007", "records": [
        {"patron": 3, "category": "patron"},
        {"patron": 3, "category": "loans", "date": "2026-02-03", "title": "A book"},
        {"patron": 9, "category": "loans", "date": "2026-06-30"}]})
    files = {"disclosure.json": package, "disclosure.html": "<p>records</p>"}
    manifest = {"type": "carrel disclosure manifest", "case": "R-2026-0007", "decision": 7,
                "decision_sha256": hashlib.sha256(decision.encode()).hexdigest(),
                "files": [{"name": k, "sha256": hashlib.sha256(v.encode()).hexdigest()}
                          for k, v in files.items()]}
    parts = [json.dumps(manifest), json.dumps(files), decision]
    put("disclosure", "valid", b"\x00" + b"\x00".join(p.encode() for p in parts))
    put("disclosure", "valid-fixed", b"\x03" + b"\x00".join(p.encode() for p in parts))
    outside = dict(files)
    outside["disclosure.json"] = json.dumps({"records": [{"patron": 4, "category": "loans",
                                                          "date": "2026-02-03"}]})
    parts = [json.dumps(manifest), json.dumps(outside), decision]
    put("disclosure", "outside", b"\x03" + b"\x00".join(p.encode() for p in parts))


def koha_csv():
    header = ("cardnumber,surname,firstname,dateofbirth,email,phone,address,city,zipcode,"
              "categorycode,branchcode,dateexpiry,privacy\n")
    put("koha_csv", "utf8", b"\x00" + (header +
        '21000000000101,Sample,Reader,1980-04-01,reader@example.org,555-0100,"1 Main St, Apt 2",'
        'Westport,06880,ADULT,MAIN,2027-01-01,1\n'
        '21000000000102,"Quote ""Q"" Test",Zoë,,,,,,,,MAIN,,\r\n').encode())
    put("koha_csv", "latin1", b"\x01" + header.encode() +
        "21000000000103,Test,Zo\xeb,,,,,,,CHILD,MAIN,,\n".encode("latin-1"))
    put("koha_csv", "open-quote", b"\x00" + (header + '2100,"never closed\n').encode())


def iso2709(fields):
    """One MARC 21 record: fields are (tag, indicators+subfields text) or (tag, control text)."""
    directory = b""
    body = b""
    for tag, data in fields:
        data = data.encode() + b"\x1e"
        directory += tag.encode() + b"%04d%05d" % (len(data), len(body))
        body += data
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    leader = b"%05dnam a22%05d a 4500" % (total, base)
    return leader + directory + b"\x1e" + body + b"\x1d"


def marc():
    s = "\x1f"
    rec = iso2709([("001", "1"),
                   ("100", "1 " + s + "aSample, Author."),
                   ("245", "10" + s + "aA made-up title :" + s + "ba subtitle."),
                   ("952", "  " + s + "p31000000001" + s + "oQ 123" + s + "yBOOK" + s + "aMAIN")])
    put("marc", "iso2709", rec + rec)
    put("marc", "marcxml", '<?xml version="1.0"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">'
        '<record><leader>00000nam a2200000 a 4500</leader>'
        '<datafield tag="245" ind1="1" ind2="0"><subfield code="a">A title</subfield></datafield>'
        '<datafield tag="952" ind1=" " ind2=" "><subfield code="p">31000000002</subfield>'
        '</datafield></record></collection>\n')


def backups():
    # An edit: offset (4 bytes, little-endian), flags, bytes.
    put("backup", "as-made", struct.pack("<IB", 0, 0))
    put("backup", "header", struct.pack("<IB", 0, 0) + b"SQLite format 4\x00")
    put("backup", "page-2", struct.pack("<IB", 4096, 0) + b"\x00" * 64)
    put("backup", "truncated", struct.pack("<IB", 8192, 2))
    put("backup", "keys-page-1", struct.pack("<IB", 200, 1) + b"\xff" * 16)
    put("backup", "not-sqlite", struct.pack("<IB", 0, 4) + b"a text file, not a database\n")


if __name__ == "__main__":
    request_bodies()
    http_heads()
    profiles()
    disclosures()
    koha_csv()
    marc()
    backups()
