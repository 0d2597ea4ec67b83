#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests, started and stopped by ctest (a fixture):
#   postgres-test-cluster.sh start STATE_DIR   initdb into a new temporary directory (as the
#                                              postgres user when run as root), a free port on
#                                              loopback, password login; writes
#                                              STATE_DIR/conninfo and STATE_DIR/passfile
#   postgres-test-cluster.sh stop STATE_DIR    stops it and removes its files
# Durability settings are off: the tests check behaviour, not the disk's flushes.
# CARREL_PG_DURABLE=1 keeps PostgreSQL's defaults (fsync, synchronous commit): the benchmarks.
set -euo pipefail
cmd=${1:?start or stop}
state=${2:?state directory}
bin=/usr/lib/postgresql/15/bin
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi

stop() {
  if [ -f "$state/cluster" ]; then
    cluster=$(cat "$state/cluster")
    if [ -d "$cluster/data" ]; then
      "${as[@]}" "$bin/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$cluster"
  fi
  rm -rf "$state"
}

case "$cmd" in
  start)
    stop
    if [ ! -x "$bin/initdb" ]; then
      echo "carrel: PostgreSQL 15 is not installed (scripts/install-deps.sh installs it)" >&2
      exit 1
    fi
    mkdir -p "$state"
    cluster=$(mktemp -d /tmp/carrel-pg.XXXXXX)
    echo "$cluster" >"$state/cluster"
    password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    printf '%s\n' "$password" >"$cluster/pwfile"
    if [ ${#as[@]} -gt 0 ]; then chown -R postgres "$cluster"; fi
    chmod 700 "$cluster"
    "${as[@]}" "$bin/initdb" -D "$cluster/data" -U postgres --pwfile="$cluster/pwfile" \
      --auth=scram-sha-256 --no-locale -E UTF8 >"$cluster/initdb.log" 2>&1 || {
      cat "$cluster/initdb.log" >&2
      exit 1
    }
    rm -f "$cluster/pwfile"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB"
    if [ "${CARREL_PG_DURABLE:-0}" = 1 ]; then settings="-c shared_buffers=256MB"; fi
    "${as[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c max_connections=400 $settings" \
      start >/dev/null || {
      cat "$cluster/server.log" >&2
      exit 1
    }
    umask 077
    printf '127.0.0.1:%s:*:postgres:%s\n' "$port" "$password" >"$state/passfile"
    printf 'host=127.0.0.1 port=%s user=postgres dbname=postgres passfile=%s\n' \
      "$port" "$(cd "$state" && pwd)/passfile" >"$state/conninfo"
    echo "carrel: a PostgreSQL server for the tests is listening on 127.0.0.1:$port"
    ;;
  stop)
    stop
    ;;
  *)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
