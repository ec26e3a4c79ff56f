#!/usr/bin/env bash
# The test command (README): installs what is missing, builds every configuration the tests
# need, and runs the whole suite under CTest. Ends with CTest's summary line.
#   debug     host build with ASan + UBSan: unit, integration and CLI tests
#   arm-core  src/core cross-compiled for a Cortex-M4 without exceptions or RTTI (size printed)
#   fuzz      libFuzzer targets (clang), smoke-run by CTest over the vectors
# The tests run under scripts/with-postgres.sh, so the storage suite covers PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build test server-test browser

echo "== build: debug (ASan + UBSan)"
cmake --preset debug >/dev/null
cmake --build --preset debug

echo "== build: arm-core (Cortex-M4, -fno-exceptions -fno-rtti -Os)"
cmake --preset arm-core >/dev/null
cmake --build --preset arm-core
scripts/core-size.sh build/arm-core

echo "== build: fuzz (clang libFuzzer)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

echo "== test (with a throwaway PostgreSQL cluster for the store's tests)"
scripts/with-postgres.sh ctest --preset debug
