#!/usr/bin/env python3
"""Fails when a source file's SQL names a table that another module owns.

A module is a folder of src/; it owns the tables its own files create (CREATE TABLE). Every
other module reaches that data through the owner's C++ interface, never through its tables:
renaming a column must break only the module that owns it. Crossings that are known and not
yet mended are listed in scripts/table-ownership-debts.txt ("file table" per line, with the
reason in a comment above); a crossing not listed fails the check, and so does a listed one
that is gone (so the list only shrinks). SQL that builds a table's name at run time
("SELECT ... FROM " + name) hides the table from this check, so a file that does it must be
listed as "file *" with the tables it names in the comment above. Run by `make test`.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CREATE = re.compile(r"CREATE TABLE(?: IF NOT EXISTS)?\s+([a-z_]+)")
# A table named where SQL names one: after FROM, JOIN, INTO, UPDATE, TABLE (ALTER, DROP),
# REFERENCES (a foreign key is a dependency on another module's table too) and ON (indexes).
USE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES|INDEX\s+[a-z_]+\s+ON)\s+([a-z_]+)")
# A table named at run time: the SQL keyword ends a string literal that is then concatenated.
DYNAMIC = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s*\"\)?\s*\+")


def sources():
    # The programs in tools/ own no table: they reach the library through its modules too. The
    # benchmarks (bench/) are left out: they measure the bare storage engine on purpose.
    for path in sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.cc")) +
                       glob.glob(os.path.join(ROOT, "src", "*", "*.h")) +
                       glob.glob(os.path.join(ROOT, "tools", "*", "*.cc")) +
                       glob.glob(os.path.join(ROOT, "tools", "*", "*.h"))):
        if path.endswith("_test.cc"):
            continue
        yield os.path.relpath(path, ROOT), path.split(os.sep)[-2]


def main():
    owner = {}
    for rel, module in sources():
        with open(os.path.join(ROOT, rel)) as f:
            for table in CREATE.findall(f.read()):
                if table in owner and owner[table] != module:
                    print(f"check-table-ownership: {table} is created by {owner[table]} and "
                          f"{module}", file=sys.stderr)
                    return 1
                owner[table] = module
    found = set()
    for rel, module in sources():
        with open(os.path.join(ROOT, rel)) as f:
            text = f.read()
            for table in USE.findall(text):
                if table in owner and owner[table] != module:
                    found.add((rel, table))
            if DYNAMIC.search(text):
                found.add((rel, "*"))
    debts = set()
    with open(os.path.join(ROOT, "scripts", "table-ownership-debts.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                rel, table = line.split()
                debts.add((rel, table))
    new = sorted(found - debts)
    gone = sorted(debts - found)
    for rel, table in new:
        if table == "*":
            print(f"check-table-ownership: {rel} builds a table's name at run time: name the "
                  f"table in the SQL, or list the file as '{rel} *' saying which tables",
                  file=sys.stderr)
            continue
        print(f"check-table-ownership: {rel} names {table}, a table of {owner[table]}: go "
              f"through {owner[table]}'s interface", file=sys.stderr)
    for rel, table in gone:
        print(f"check-table-ownership: {rel} no longer names {table}: take it off "
              f"scripts/table-ownership-debts.txt", file=sys.stderr)
    if new or gone:
        return 1
    crossings = sum(1 for _, table in debts if table != "*")
    dynamic = len(debts) - crossings
    print(f"check-table-ownership: {len(owner)} tables in "
          f"{len(set(owner.values()))} modules; {crossings} known crossings left; "
          f"{dynamic} files name tables at run time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
