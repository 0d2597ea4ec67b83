#!/usr/bin/env python3
"""Writes synthetic Koha exports of any size, for the import benchmark and by hand:

  bench/koha/generate.py OUT_DIR [--patrons N] [--items N] [--loans N] [--history N] [--fines N]
                         [--xml] [--seed S]

OUT_DIR gets borrowers.csv (Koha's borrowers columns, extra ones included, as a full export has
them), catalogue.mrc (MARC 21 in ISO 2709 with 952 item fields; catalogue.xml with --xml),
issues.csv, old_issues.csv and accountlines.csv, in the shapes docs/migrating-from-koha.md gives.
Every name and address is made up. Item types are BK, DVD and CD (map them with --item-type).
"""

import argparse
import os
import random
import sys

GIVEN = ["Ada", "Bo", "Chidi", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jun", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera"]
SURNAMES = ["Abara", "Berg", "Castillo", "Dunne", "Eze", "Fischer", "Garcia", "Haddad", "Ito",
            "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe"]
STREETS = ["Main Street", "Riverside Avenue", "Post Road East", "Compo Road", "Church Lane"]
WORDS = ["river", "night", "garden", "letters", "winter", "city", "house", "sea", "road",
         "history", "light", "stone", "voices", "island", "bridge"]


def progress(label, done, total):
    if sys.stderr.isatty() and (done % 50000 == 0 or done == total):
        sys.stderr.write(f"\rgenerate: {label} {done:,}/{total:,}")
        if done == total:
            sys.stderr.write("\n")


def iso2709(fields):
    """One MARC 21 record: fields are (tag, value) for control fields or
    (tag, [(code, text), ...]) for data fields with blank indicators."""
    directory, data = [], []
    offset = 0
    for tag, body in fields:
        if isinstance(body, str):
            raw = body.encode() + b"\x1e"
        else:
            raw = b"  " + b"".join(b"\x1f" + c.encode() + t.encode() for c, t in body) + b"\x1e"
        directory.append(f"{tag}{len(raw):04d}{offset:05d}".encode())
        data.append(raw)
        offset += len(raw)
    directory = b"".join(directory) + b"\x1e"
    base = 24 + len(directory)
    length = base + offset + 1
    leader = f"{length:05d}nam a22{base:05d} a 4500".encode()
    return leader + directory + b"".join(data) + b"\x1d"


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;")


def marcxml(fields):
    out = ["<record><leader>00000nam a2200000 a 4500</leader>"]
    for tag, body in fields:
        if isinstance(body, str):
            out.append(f'<controlfield tag="{tag}">{xml_escape(body)}</controlfield>')
        else:
            subs = "".join(f'<subfield code="{c}">{xml_escape(t)}</subfield>' for c, t in body)
            out.append(f'<datafield tag="{tag}" ind1=" " ind2=" ">{subs}</datafield>')
    out.append("</record>\n")
    return "".join(out)


def card(n):
    return f"2100{n:010d}"


def barcode(n):
    return f"3100{n:010d}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--patrons", type=int, default=1000)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--loans", type=int, default=100)
    p.add_argument("--history", type=int, default=10000)
    p.add_argument("--fines", type=int, default=100)
    p.add_argument("--xml", action="store_true", help="MARCXML instead of ISO 2709")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    with open(os.path.join(a.out, "borrowers.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("borrowernumber,cardnumber,surname,firstname,othernames,streetnumber,address,"
                "address2,city,state,zipcode,country,email,phone,mobile,dateofbirth,branchcode,"
                "categorycode,dateenrolled,dateexpiry,sex,borrowernotes,password,privacy\n")
        for n in range(1, a.patrons + 1):
            g, s = rng.choice(GIVEN), rng.choice(SURNAMES)
            born = f"{rng.randint(1935, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            # Koha's privacy: about one patron in seven keeps a history (0), most the default.
            privacy = "0" if rng.random() < 0.15 else ("2" if rng.random() < 0.1 else "1")
            f.write(f"{n},{card(n)},{s},{g},,{rng.randint(1, 400)},{rng.choice(STREETS)},,"
                    f"Westport,CT,06880,USA,{g.lower()}.{s.lower()}{n}@example.org,"
                    f"203-555-{n % 10000:04d},,{born},WPL,ADULT,2015-01-01,2028-06-30,"
                    f"{rng.choice('FMU')},\"note, about {g}\",$2a$08$xxxxxxxx,{privacy}\n")
            progress("patrons", n, a.patrons)

    name = "catalogue.xml" if a.xml else "catalogue.mrc"
    with open(os.path.join(a.out, name), "wb") as f:
        if a.xml:
            f.write(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                    b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n')
        n = 0
        record = 0
        while n < a.items:
            record += 1
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))).capitalize()
            fields = [("001", str(record)),
                      ("100", [("a", f"{rng.choice(SURNAMES)}, {rng.choice(GIVEN)},")]),
                      ("245", [("a", title + " /"), ("c", "by someone.")])]
            itype = rng.choice(["BK", "BK", "BK", "DVD", "CD"])
            for _ in range(min(rng.randint(1, 3), a.items - n)):
                n += 1
                fields.append(("952", [("p", barcode(n)), ("o", f"FIC {n % 1000:03d}"),
                                       ("y", itype), ("a", "WPL"), ("b", "WPL"), ("0", "0")]))
                progress("items", n, a.items)
            if a.xml:
                f.write(marcxml(fields).encode())
            else:
                f.write(iso2709(fields))
        if a.xml:
            f.write(b"</collection>\n")

    # Current loans: each item at most once; history and fines: any patron, any item.
    with open(os.path.join(a.out, "issues.csv"), "w", newline="") as f:
        f.write("cardnumber,barcode,issuedate,date_due,renewals\n")
        lent = rng.sample(range(1, a.items + 1), min(a.loans, a.items))
        for i, item in enumerate(lent, 1):
            f.write(f"{card(rng.randint(1, a.patrons))},{barcode(item)},2026-11-10,2026-12-01,"
                    f"{rng.randint(0, 2)}\n")
            progress("loans", i, len(lent))
    with open(os.path.join(a.out, "old_issues.csv"), "w", newline="") as f:
        f.write("cardnumber,barcode,issuedate,returndate\n")
        for i in range(1, a.history + 1):
            y, m, d = rng.randint(2016, 2025), rng.randint(1, 12), rng.randint(1, 14)
            f.write(f"{card(rng.randint(1, a.patrons))},{barcode(rng.randint(1, a.items))},"
                    f"{y}-{m:02d}-{d:02d},{y}-{m:02d}-{d + 14:02d}\n")
            progress("history", i, a.history)
    with open(os.path.join(a.out, "accountlines.csv"), "w", newline="") as f:
        f.write("cardnumber,amount,description,date\n")
        for i in range(1, a.fines + 1):
            f.write(f"{card(rng.randint(1, a.patrons))},{rng.randint(10, 2000) / 100:.2f},"
                    f"Overdue,2026-10-{rng.randint(1, 28):02d}\n")
            progress("fines", i, a.fines)


if __name__ == "__main__":
    main()
