#!/usr/bin/env bash
# Runs CMD... with a throwaway PostgreSQL cluster and ALOFT_TEST_PG set to its conninfo, then
# stops and removes the cluster whatever CMD did. Prints nothing of its own on success; exits
# with CMD's status.
#   scripts/with-postgres.sh ctest --preset debug
# The cluster listens only on a Unix socket in a fresh temp dir (no TCP), with fsync on and
# synchronous_commit at its default (on), so the store's durability tests see real commits.
# (fsync=off with synchronous_commit=off took the PostgreSQL half of the store suite from 4.6 s
# to 3.7 s here: not worth testing on another durability than production's, and the durability
# test refuses such a cluster.) As root, the server runs as the `postgres` user (initdb refuses
# root); as anyone else, it runs as that user, so no sudo is needed for it.
set -euo pipefail
[[ $# -gt 0 ]] || { echo "usage: scripts/with-postgres.sh CMD..." >&2; exit 2; }

PGBIN=$(pg_config --bindir 2>/dev/null || true)
if [[ ! -x "$PGBIN/initdb" ]]; then
  # pg_config may come from a libpq-dev newer than the server: use the newest server installed.
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[[ -x "$PGBIN/initdb" ]] || { echo "with-postgres.sh: no PostgreSQL server (apt install postgresql)" >&2; exit 1; }

as_server=()
D=$(mktemp -d -t aloft-pg.XXXXXX)
if [[ $(id -u) -eq 0 ]]; then
  as_server=(runuser -u postgres --)
  chown postgres: "$D"
fi

cleanup() {
  if [[ -f "$D/data/postmaster.pid" ]]; then
    "${as_server[@]}" "$PGBIN/pg_ctl" -D "$D/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "with-postgres.sh: $1; logs follow" >&2
  cat "$D"/*.log >&2 2>/dev/null || true
  exit 1
}

"${as_server[@]}" "$PGBIN/initdb" -D "$D/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$D/initdb.log" 2>&1 || fail "initdb failed"
"${as_server[@]}" "$PGBIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 20 \
  -o "-c listen_addresses='' -k $D -c fsync=on -c max_connections=200" start >/dev/null 2>&1 ||
  fail "the server did not start"
"${as_server[@]}" "$PGBIN/createdb" -h "$D" -U postgres aloft_test >>"$D/initdb.log" 2>&1 ||
  fail "createdb failed"

export ALOFT_TEST_PG="host=$D user=postgres dbname=aloft_test"
status=0
"$@" || status=$?
exit "$status"
