#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for the tests (Debian's postgresql package).
#   scripts/postgres-cluster.sh start PORT   -> prints "DIR URL" (DIR is a new temporary directory)
#   scripts/postgres-cluster.sh stop DIR     -> stops the cluster and removes DIR
#   scripts/postgres-cluster.sh halt DIR     -> stops the server, keeps the data (an outage)
#   scripts/postgres-cluster.sh resume DIR   -> starts a halted server again on its port
# initdb refuses to run as root, so as root the cluster is owned by and run as the `postgres` user.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found" >&2; exit 3; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
start)
  port=${2:?port}
  dir=$(mktemp -d /tmp/calcinosis-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U calcinosis -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 4; }
  echo "$port" >"$dir/port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=60" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 5; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U calcinosis calcinosis
  echo "$dir postgresql://calcinosis@127.0.0.1:$port/calcinosis"
  ;;
stop)
  dir=${2:?dir}
  case "$dir" in /tmp/calcinosis-pg.*) ;; *) echo "refusing to remove $dir" >&2; exit 2 ;; esac
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
halt)
  dir=${2:?dir}
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  ;;
resume)
  dir=${2:?dir}
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c max_connections=60" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 5; }
  ;;
*)
  echo "usage: $0 start PORT | stop DIR | halt DIR | resume DIR" >&2; exit 2 ;;
esac
