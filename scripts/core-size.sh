#!/usr/bin/env bash
# Prints the code size of src/core as built for the bare-metal target (scripts/test.sh).
set -euo pipefail
lib="${1:-build/arm-core}/src/core/libaloft_core.a"
echo "src/core for Cortex-M4 (-Os), per object and total:"
arm-none-eabi-size -t "$lib" | awk 'NR == 1 || /TOTALS/ || $1 > 0 {print "  " $0}'
