#!/usr/bin/env bash
# libFuzzer targets for carrel's parsers of outside input (fuzz/*_fuzz.cc), built with Debian's
# clang (-fsanitize=fuzzer,address,undefined) into build/fuzz, each run for FUZZ_SECONDS
# (default 60) from its seed corpus in fuzz/corpus/TARGET (copied: the repository's corpus is
# not changed). Exits non-zero on any crash, leak, undefined behaviour or timeout; a crashing
# input is left in build/fuzz/findings/TARGET.
#   scripts/fuzz.sh [TARGET...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
out="$root/build/fuzz"
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$root/include" -I"$root/src")

# Each target and the sources it needs besides itself.
declare -A sources=(
  [sip2_message]="src/sip2/message.cc src/util/status.cc"
)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${!sources[@]}"); fi
for t in "${targets[@]}"; do
  if [ -z "${sources[$t]:-}" ]; then
    echo "fuzz: no target $t" >&2
    exit 2
  fi
  echo "fuzz: building $t" >&2
  files=("$root/fuzz/${t}_fuzz.cc")
  for f in ${sources[$t]}; do files+=("$root/$f"); done
  clang++ "${flags[@]}" "${files[@]}" -o "$out/$t"
  corpus="$out/corpus/$t"
  findings="$out/findings/$t"
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  cp "$root/fuzz/corpus/$t/"* "$corpus/"
  echo "fuzz: $t for ${seconds}s" >&2
  if ! "$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" 2>"$out/$t.log"; then
    tail -30 "$out/$t.log" >&2
    echo "fuzz: $t FAILED; the input is in $findings" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$out/$t.log" | tail -3 >&2 || true
done
echo "fuzz: every target ran clean" >&2
