#!/usr/bin/env bash
# Installs the Debian packages a job needs, if any are missing; silent when none are.
#   scripts/deps.sh build        compilers and libraries for the host build (the demo)
#   scripts/deps.sh build test   plus what the test command needs (cross compiler, fuzzing)
#   scripts/deps.sh bench        the references bench/http_vs_nginx.sh measures against
#   scripts/deps.sh server-test  a PostgreSQL server for the store's tests (with-postgres.sh)
# Package choices and why: ../shared/STACK.md (Boost 1.81, not Debian's default 1.74).
set -euo pipefail

declare -A PACKAGES=(
  [build]="build-essential cmake ninja-build pkgconf libssl-dev libcli11-dev
           libboost1.81-dev libboost-json1.81-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libjsmn-dev
           libspdlog-dev libfmt-dev"
  [test]="libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
          gcc-arm-none-eabi libstdc++-arm-none-eabi-picolibc"
  [server-test]="postgresql"
  [bench]="wrk nginx-light"
)

wanted=()
for group in "$@"; do
  [[ -n "${PACKAGES[$group]+x}" ]] || { echo "deps.sh: unknown group '$group'" >&2; exit 2; }
  for package in ${PACKAGES[$group]}; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ "$status" == installed ]] || wanted+=("$package")
  done
done
[[ ${#wanted[@]} -eq 0 ]] && exit 0

echo "Installing missing Debian packages: ${wanted[*]}"
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${wanted[@]}" >/dev/null
