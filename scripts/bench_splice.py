"""Puts one section of docs/BENCHMARKS.md in place from a benchmark's JSON figures, for the
single-section runs of scripts/bench.sh (CARREL_BENCH_PARTS=web or retention):

    bench_splice.py MODULE FIGURES.json DOCUMENT COMMAND SOURCE DATE

MODULE is a section module of scripts/ (bench_web_section, bench_retention_section, bench_disclosure_section) with
section(figures, note) and splice(document, lines)."""
import importlib
import json
import os
import sys


def place(document, heading, lines):
    """The document with the section under `heading` replaced by `lines`, or, when it has none
    yet, with them placed before "Reading these figures"."""
    text = "\n".join(lines) + "\n"
    if heading in document:
        start = document.index(heading)
        end = document.find("\n## ", start + len(heading))
        end = len(document) if end < 0 else end + 1
        return document[:start] + text + document[end:]
    at = document.index("## Reading these figures")
    return document[:at] + text + document[at:]


def main():
    module, figures_path, out, command, source, date = sys.argv[1:7]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    section = importlib.import_module(module)
    with open(figures_path) as f:
        figures = json.load(f)
    with open(out) as f:
        document = f.read()
    note = f"Measured by `{command}` on {date} at `{source}`."
    with open(out, "w") as f:
        f.write(section.splice(document, section.section(figures, note)))
    print(f"bench: wrote the {module} part of {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
