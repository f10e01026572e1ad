#!/usr/bin/env bash
# A PostgreSQL server on 127.0.0.1 (no password, reachable from this machine only).
# For the many-worker tests, throwaway (every start begins empty):
#   eval "$(scripts/postgres_for_tests.sh start)"   # exports AUTOMATA_TEST_POSTGRES_URL
#   scripts/postgres_for_tests.sh stop              # stops it and deletes its data
# For a user's studies (`make postgres`, `make postgres-stop`), its data kept:
#   scripts/postgres_for_tests.sh serve             # starts it unless it runs; prints its URL
#   scripts/postgres_for_tests.sh halt              # stops it; the data stays
# AUTOMATA_PGPORT, AUTOMATA_PGDATA and AUTOMATA_PGDB set its port, data folder and database.
# Installs Debian's postgresql package when no server binaries are found (needs root + apt).
set -euo pipefail
PGPORT="${AUTOMATA_PGPORT:-55432}"
PGDATA="${AUTOMATA_PGDATA:-/tmp/automata-pg}"
PGDB="${AUTOMATA_PGDB:-automata_test}"

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

server_bin() {  # the server's binaries, installed when missing
  local b
  b=$(bindir || true)
  if [ -z "$b" ]; then
    echo "installing postgresql from Debian's packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    b=$(bindir)
  fi
  echo "$b"
}

as_pg() {  # the server refuses to run as root
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "cd / && $*"; else sh -c "$*"; fi
}

own_data_folder() {  # made, and the server's user's (as root: the postgres user's)
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
  if ! as_pg "test -w '$PGDATA'"; then
    echo "error: the server's user cannot write $PGDATA (as root it runs as 'postgres', which" \
      "must reach every folder above it): choose another one (make postgres PG_DIR=...)" >&2
    exit 1
  fi
}

serve_options="-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1"

case "${1:-start}" in
  start)
    BIN=$(server_bin)
    as_pg "$BIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1 && as_pg "$BIN/pg_ctl -D $PGDATA -m immediate stop" >&2 || true
    rm -rf "$PGDATA"; own_data_folder
    as_pg "$BIN/initdb -D $PGDATA -U postgres -A trust --no-sync" >/dev/null
    as_pg "$BIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o \"$serve_options -c fsync=off\" start" >&2
    as_pg "$BIN/createdb -h 127.0.0.1 -p $PGPORT -U postgres $PGDB"
    echo "export AUTOMATA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PGPORT/$PGDB"
    ;;
  stop)
    BIN=$(bindir || true)
    [ -n "$BIN" ] && as_pg "$BIN/pg_ctl -D $PGDATA -m fast stop" >&2 || true
    rm -rf "$PGDATA"
    ;;
  serve)
    BIN=$(server_bin)
    if ! as_pg "$BIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
      own_data_folder
      [ -s "$PGDATA/PG_VERSION" ] || as_pg "$BIN/initdb -D $PGDATA -U postgres -A trust" >/dev/null
      as_pg "$BIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o \"$serve_options\" start" >&2
    fi
    as_pg "$BIN/createdb -h 127.0.0.1 -p $PGPORT -U postgres $PGDB" 2>/dev/null || true  # kept
    as_pg "$BIN/psql -h 127.0.0.1 -p $PGPORT -U postgres -d $PGDB -c 'SELECT 1'" >/dev/null
    echo "postgresql://postgres@127.0.0.1:$PGPORT/$PGDB"
    ;;
  halt)
    BIN=$(bindir || true)
    [ -n "$BIN" ] && as_pg "$BIN/pg_ctl -D $PGDATA -m fast stop" >&2 || true
    ;;
  *) echo "usage: $0 start|stop|serve|halt" >&2; exit 2 ;;
esac
