#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the many-worker tests, or stop it.
#   eval "$(scripts/postgres_for_tests.sh start)"   # exports AUTOMATA_TEST_POSTGRES_URL
#   scripts/postgres_for_tests.sh stop
# Installs Debian's postgresql package when no server binaries are found (needs root + apt).
set -euo pipefail
PGPORT="${AUTOMATA_PGPORT:-55432}"
PGDATA="${AUTOMATA_PGDATA:-/tmp/automata-pg}"

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_pg() {  # the server refuses to run as root
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "cd / && $*"; else sh -c "$*"; fi
}

case "${1:-start}" in
  start)
    BIN=$(bindir || true)
    if [ -z "$BIN" ]; then
      echo "installing postgresql from Debian's packages" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
      BIN=$(bindir)
    fi
    as_pg "$BIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1 && as_pg "$BIN/pg_ctl -D $PGDATA -m immediate stop" >&2 || true
    rm -rf "$PGDATA"; mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
    as_pg "$BIN/initdb -D $PGDATA -U postgres -A trust --no-sync" >/dev/null
    as_pg "$BIN/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o \"-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >&2
    as_pg "$BIN/createdb -h 127.0.0.1 -p $PGPORT -U postgres automata_test"
    echo "export AUTOMATA_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:$PGPORT/automata_test"
    ;;
  stop)
    BIN=$(bindir || true)
    [ -n "$BIN" ] && as_pg "$BIN/pg_ctl -D $PGDATA -m fast stop" >&2 || true
    rm -rf "$PGDATA"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
