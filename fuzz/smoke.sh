#!/usr/bin/env bash
# Smoke run of one libFuzzer target (CTest, scripts/test.sh): a fixed number of runs from a
# fresh corpus seeded with the vectors named in fuzz/seeds/NAME.txt (glob patterns relative to
# tests/vectors, or to the repository when they start with "fuzz/"). Prints libFuzzer's
# summary (executions, coverage); fails on any crash, leak or sanitizer report.
set -euo pipefail
fuzzer="$1"
name=$(basename "$fuzzer")
root="$(cd "$(dirname "$0")/.." && pwd)"
[[ -x "$fuzzer" ]] || { echo "fuzzer $fuzzer not built: run 'cmake --build --preset fuzz'" >&2; exit 1; }
corpus=$(mktemp -d -t "aloft-$name.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
while read -r pattern; do
  [[ -z "$pattern" || "$pattern" == \#* ]] && continue
  base=$root/tests/vectors
  [[ "$pattern" == fuzz/* ]] && base=$root
  for seed in $base/$pattern; do
    [[ -f "$seed" ]] && cp "$seed" "$corpus/"
  done
done < "$root/fuzz/seeds/$name.txt"
log="$corpus.log"
trap 'rm -rf "$corpus" "$log"' EXIT
rc=0
"$fuzzer" -runs="${ALOFT_FUZZ_RUNS:-20000}" -max_len=200000 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus" >"$log" 2>&1 || rc=$?
if [[ $rc -ne 0 ]]; then
  cat "$log"
else
  grep -E '^(stat::|Done|INFO: seed corpus)' "$log" || true
fi
exit "$rc"
