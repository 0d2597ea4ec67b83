#!/usr/bin/env bash
# Runs carrel's libFuzzer targets (fuzz/*_fuzz.cc), each for FUZZ_SECONDS (default 60) from its
# seed corpus in fuzz/corpus/TARGET. The targets are built with the AddressSanitizer tests
# (build/asan, clang with -fsanitize=fuzzer-no-link,address,undefined; see CMakeLists.txt).
# The corpus is copied to build/fuzz/corpus/TARGET (the repository's is not changed), kept
# across runs when FUZZ_KEEP_CORPUS=1. Exits non-zero on any crash, leak, undefined behaviour,
# broken property or timeout; the input that did it is left in build/fuzz/findings/TARGET.
# One line per target (runs, runs per second, coverage) goes to build/fuzz/summary.txt.
#   scripts/fuzz.sh [TARGET...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
bin="$root/build/asan/fuzz"
out="$root/build/fuzz"
mkdir -p "$out"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/fuzz/*_fuzz.cc; do
    t=$(basename "$f" _fuzz.cc)
    targets+=("$t")
  done
fi
build=()
for t in "${targets[@]}"; do
  if [ ! -f "$root/fuzz/${t}_fuzz.cc" ]; then
    echo "fuzz: no target $t (fuzz/${t}_fuzz.cc)" >&2
    exit 2
  fi
  build+=("fuzz_$t")
done
test -f "$root/build/asan/build.ninja" || cmake --preset asan -S "$root" >/dev/null
cmake --build "$root/build/asan" --target "${build[@]}" >/dev/null

: >"$out/summary.txt"
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  findings="$out/findings/$t"
  if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ]; then rm -rf "$corpus"; fi
  rm -rf "$findings"
  mkdir -p "$corpus" "$findings"
  cp -n "$root/fuzz/corpus/$t/"* "$corpus/"
  echo "fuzz: $t for ${seconds}s" >&2
  if ! (cd "$findings" && "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" >"$out/$t.log" 2>&1); then
    tail -40 "$out/$t.log" >&2
    echo "fuzz: $t FAILED; the input is in $findings" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
  done_line=$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$out/$t.log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p' \
        <<<"$done_line")
  rate=$(awk -v r="$runs" -v s="$seconds" 'BEGIN { printf "%d", r / s }')
  line="$t: $runs runs in ${seconds}s ($rate/s), $cov, nothing found"
  echo "fuzz: $line" >&2
  echo "$line" >>"$out/summary.txt"
done
echo "fuzz: every target ran clean" >&2
