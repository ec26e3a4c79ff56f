#!/usr/bin/env bash
# Two aloftd builds side by side: alternates `bench/server_vs_nginx.sh BUILD` between them, one
# round of check-ins each time, and prints every run and each build's mean CPU per check-in and
# mean ratio to nginx. For telling a change's effect from this machine's drift; a build of an
# older commit is made with, e.g.:
#   git worktree add /tmp/old COMMIT && cmake -S /tmp/old -B /tmp/old-build -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/old-build --target aloftd aloft server_bench_seed
#
#   bench/server_ab.sh BUILD_A BUILD_B      (knobs: N rounds (3), WORKERS (1), CONNECTIONS (64))
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: bench/server_ab.sh BUILD_A BUILD_B" >&2; exit 2; }
N=${N:-3}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq "$N"); do
  for build in "$1" "$2"; do
    line=$(DURATION=${DURATION:-5} ROUNDS=1 KINDS=check WORKERS=${WORKERS:-1} \
      CONNECTIONS=${CONNECTIONS:-64} bench/server_vs_nginx.sh "$build" 2>/dev/null |
      grep -A1 '^workers' | tail -1)
    awk -v b="$build" '{printf "%s %s %s %s %s\n", b, $4, $5, $9, $10}' <<<"$line" | tee -a "$results" |
      awk '{printf "%-30s req/s %8s nginx %8s  cpu %5s us  nginx %5s us\n", $1, $2, $3, $4, $5}'
  done
done
awk '{cpu[$1] += $4; ratio[$1] += $2 / $3; n[$1]++}
     END {for (b in n) printf "%-30s mean cpu %.2f us/check-in, mean ratio to nginx %.3f (%d runs)\n", b, cpu[b] / n[b], ratio[b] / n[b], n[b]}' "$results"
