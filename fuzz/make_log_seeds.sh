#!/usr/bin/env bash
# Writes the seed corpora of the proof and audit_entry fuzz targets from a real (demo) library:
# its audit entries as stored, and proofs written by `carrel audit prove`, each after its
# verifier key line. Run from the repository's root with a built carrel:
#   fuzz/make_log_seeds.sh [build/release/carrel]
set -euo pipefail
carrel=${1:-build/release/carrel}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lib="$tmp/library"
"$carrel" init --data "$lib" >/dev/null
"$carrel" audit head --data "$lib" >"$tmp/head1"
"$carrel" demo seed --data "$lib" --patrons 3 --items 5 --loans 6 >/dev/null 2>&1
"$carrel" audit head --data "$lib" >"$tmp/head2"
key=$("$carrel" audit key --data "$lib")
out=fuzz/corpus/proof
mkdir -p "$out"
size=$(sed -n 2p "$tmp/head2")
{ echo "$key"; "$carrel" audit prove --data "$lib" --index 0; } >"$out/inclusion-first"
{ echo "$key"; "$carrel" audit prove --data "$lib" --index $((size - 1)); } >"$out/inclusion-last"
{ echo "$key"; "$carrel" audit prove --data "$lib" --from-head "$tmp/head1"; } >"$out/consistency"
{ echo "$key"; "$carrel" audit prove --data "$lib" --index 2 --from-head "$tmp/head1"; } \
  >"$out/both"
out=fuzz/corpus/audit_entry
mkdir -p "$out"
for seq in 0 1 2 $((size / 2)) $((size - 1)); do
  sqlite3 "$lib/carrel.db" "SELECT hex(entry) FROM audit_log WHERE seq = $seq" | xxd -r -p \
    >"$out/entry-$seq"
done
echo "fuzz: log seeds written (a log of $size entries)" >&2
