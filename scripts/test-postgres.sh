#!/usr/bin/env bash
# A private PostgreSQL cluster for vmserial's tests: Debian's postgresql (installed if
# missing), its own data folder, port and socket folder under the build folder, listening on
# 127.0.0.1 only, trust authentication (loopback, throwaway data). Nothing depends on a
# server started by hand.
#
#   scripts/test-postgres.sh start         start it (idempotent); prints its URL
#   scripts/test-postgres.sh stop          stop it
#   scripts/test-postgres.sh url           print its URL
#   scripts/test-postgres.sh run CMD...    start it, run CMD with VMSERIAL_TEST_POSTGRES set,
#                                          stop it, exit with CMD's status
#   scripts/test-postgres.sh private-folder DIR [OWNER]
#                                          make DIR as start makes its /tmp folder (mode 700,
#                                          never through a symlink), or refuse it (tests)
#
# VMSERIAL_PG_DIR (default .build/pg) and VMSERIAL_PG_PORT (default 55432) move it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGROOT=${VMSERIAL_PG_DIR:-$ROOT/.build/pg}
PORT=${VMSERIAL_PG_PORT:-55432}
DB=vmserial_test
URL="postgres://postgres@127.0.0.1:$PORT/$DB"

say() { printf 'test-postgres: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_installed() {
  if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
    say "installing Debian's postgresql"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
}

# initdb and the server refuse to run as root: as root, run them as the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A folder for the cluster under /tmp, where any user can plant a name first: made by mkdir
# (which never follows a symlink), else used only if it is a real folder (not a link) owned
# by OWNER with mode 700, as an earlier run left it. Anything else is refused, never adopted.
private_tmp_folder() {
  local dir=$1 owner=$2
  if mkdir -m 700 "$dir" 2>/dev/null; then
    # -h: change the folder itself, never what a name points to.
    chown -h "$owner": "$dir"
    return 0
  fi
  # stat without -L describes the name itself (lstat): a symlink shows as one.
  local seen
  seen=$(stat -c '%F %U %a' "$dir" 2>/dev/null || echo missing)
  if [ "$seen" != "directory $owner 700" ]; then
    say "$dir exists but is not a private folder of $owner (it is: $seen); remove it (or set VMSERIAL_PG_DIR) and run again"
    exit 1
  fi
}

# The postgres user must reach the folder; a checkout under /root (mode 700) is out of its reach.
choose_folder() {
  mkdir -p "$PGROOT"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PGROOT"
    if ! runuser -u postgres -- test -w "$PGROOT"; then
      PGROOT=/tmp/vmserial-pg-$PORT
      say "the postgres user cannot reach the build folder; using $PGROOT"
      private_tmp_folder "$PGROOT" postgres
    fi
  fi
}

running() { as_owner "$(bindir)/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; }

start() {
  ensure_installed
  choose_folder
  local bin
  bin=$(bindir)
  if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$PGROOT/data" --username=postgres --auth=trust --encoding=UTF8 --no-sync >"$PGROOT/initdb.log" 2>&1 \
      || { cat "$PGROOT/initdb.log" >&2; exit 1; }
  fi
  if ! running; then
    # fsync off: a test cluster's data is thrown away; it makes the concurrency tests faster.
    as_owner "$bin/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
      -o "-p $PORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
      || { tail -20 "$PGROOT/server.log" >&2; exit 1; }
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
  fi
  echo "$URL"
}

stop() {
  [ -n "$(bindir)" ] || return 0
  for dir in "$PGROOT" "/tmp/vmserial-pg-$PORT"; do
    # A /tmp folder counts only as start made it: someone else's could point pg_ctl at any server.
    if [ "$dir" = "/tmp/vmserial-pg-$PORT" ] && [ "$(stat -c '%F %U %a' "$dir" 2>/dev/null)" != "directory postgres 700" ]; then
      continue
    fi
    if [ -f "$dir/data/PG_VERSION" ] && as_owner "$(bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
      say "stopped the cluster in $dir"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  # For the tests of this script: make (or accept) DIR as start does under /tmp.
  private-folder) private_tmp_folder "$2" "${3:-$(id -un)}"; echo "$2" ;;
  run)
    shift
    VMSERIAL_TEST_POSTGRES=$(start)
    export VMSERIAL_TEST_POSTGRES
    say "PostgreSQL at $VMSERIAL_TEST_POSTGRES"
    status=0
    "$@" || status=$?
    stop
    exit "$status"
    ;;
  *) echo "usage: $0 start|stop|url|run CMD...|private-folder DIR [OWNER]" >&2; exit 2 ;;
esac
