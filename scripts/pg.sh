#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL server for the tests.
#   scripts/pg.sh start DIR PORT   -> prints the DSN on stdout
#   scripts/pg.sh stop DIR
set -euo pipefail
cmd=$1; dir=$2
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
run() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
  port=$3
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  run "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1
  run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" start >/dev/null
  run "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE it4ct_test' >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/it4ct_test?sslmode=disable"
  ;;
stop)
  [ -d "$dir/data" ] && run "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
esac
