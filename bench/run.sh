#!/usr/bin/env bash
# Runs every benchmark from a release build and prints their figures and ratios.
#
#   bench/run.sh            configure + build the release preset if needed, run everything
#   bench/run.sh installer  only benchmarks whose name contains "installer"
#
# A benchmark is either a C++ file bench/NAME_bench.cc (bench/CMakeLists.txt turns each into the
# executable build/release/bench/NAME_bench, which prints its own figures) or an executable
# script bench/NAME_bench.sh (run from the repository root with ALOFT_BUILD_DIR set). Adding a
# file of either kind is all it takes to join. Exit status: non-zero if any benchmark failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
filter="${1:-}"
build="$root/build/release"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake --preset release >/dev/null
fi
targets=()
for source in bench/*_bench.cc; do
  [[ -e "$source" ]] || continue
  name="$(basename "$source" .cc)"
  [[ -z "$filter" || "$name" == *"$filter"* ]] && targets+=("$name")
done
if ((${#targets[@]})); then
  cmake --build --preset release --target "${targets[@]}" >/dev/null
fi

failed=0
for name in "${targets[@]}"; do
  echo "== $name"
  "$build/bench/$name" || { echo "!! $name failed"; failed=1; }
done
for script in bench/*_bench.sh; do
  [[ -x "$script" ]] || continue
  name="$(basename "$script" .sh)"
  [[ -z "$filter" || "$name" == *"$filter"* ]] || continue
  echo "== $name"
  ALOFT_BUILD_DIR="$build" "$script" || { echo "!! $name failed"; failed=1; }
done
exit "$failed"
