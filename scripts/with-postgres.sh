#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL on 127.0.0.1 (ALOFT_TEST_POSTGRES_URL set), so the store's
# PostgreSQL path is tested alongside SQLite. Without PostgreSQL's server binaries the command runs
# anyway and those tests report themselves skipped. The cluster lives in a temp folder and is removed.
set -uo pipefail
if [ -n "${ALOFT_TEST_POSTGRES_URL:-}" ]; then exec "$@"; fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || ! [ -x "$bin/initdb" ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -n "${CI:-}" ] &&
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } &&
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
if [ -z "$bin" ] || ! [ -x "$bin/initdb" ]; then
  echo "with-postgres: no PostgreSQL server here; PostgreSQL tests will be skipped" >&2
  exec "$@"
fi
dir=$(mktemp -d /tmp/aloft-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd -r -M postgres
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
stop() { "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$dir"; }
if "${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U aloft --auth=trust >/dev/null 2>&1 &&
   "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
     -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >/dev/null 2>&1 &&
   "$bin/createdb" -h 127.0.0.1 -p "$port" -U aloft aloft_test >/dev/null 2>&1; then
  export ALOFT_TEST_POSTGRES_URL="postgres://aloft@127.0.0.1:$port/aloft_test"
  echo "with-postgres: PostgreSQL on 127.0.0.1:$port" >&2
  "$@"
  code=$?
  stop
  exit $code
fi
echo "with-postgres: could not start PostgreSQL ($(tail -3 "$dir/log" 2>/dev/null)); PostgreSQL tests will be skipped" >&2
stop
exec "$@"
