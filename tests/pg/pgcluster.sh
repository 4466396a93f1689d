#!/bin/sh
# A throwaway PostgreSQL cluster for the tests: initdb'd in DIR/data, run by
# an unprivileged user, listening only on a Unix socket in DIR (no TCP at
# all: listen_addresses=''), trust authentication for the superuser ohets.
#
#   pgcluster.sh start DIR [PORT]       initdb on first use, then pg_ctl -w start
#   pgcluster.sh stop DIR [MODE]        pg_ctl -w stop -m MODE (default fast)
#   pgcluster.sh reload DIR             pg_ctl reload (after editing pg_hba.conf)
#   pgcluster.sh url DIR [DBNAME]       the libpq URI of the cluster (postgres db)
#   pgcluster.sh replica DIR PRIMARY [PORT]
#                                       a streaming replica of the running cluster
#                                       PRIMARY: pg_basebackup -R, then start
#   pgcluster.sh destroy DIR            stop (immediate) and remove DIR
#   pgcluster.sh bindir                 where the server programs are
#
# The server programs are looked for in PG_BINDIR when it is set, else in
# the newest /usr/lib/postgresql/*/bin, else on PATH.
# PORT only names the socket file (DIR/.s.PGSQL.PORT); default: one derived
# from the process id, so clusters started at once differ.  Run as root
# (CI), the server runs as the postgres user (Debian's package makes it;
# else nobody) and DIR is made its own; otherwise as the caller.  Every
# pg_ctl wait is bounded (PGCLUSTER_TIMEOUT seconds, default 60).  Exits 77
# (automake's SKIP) with a clear line when the server programs are not
# installed (Debian: apt-get install postgresql; scripts/deps.sh does).
# For tests the cluster skips fsync; PGCLUSTER_DURABLE=1 keeps PostgreSQL's
# durable defaults (benchmarks), and PGCLUSTER_CONF holds more settings
# lines for postgresql.conf (e.g. "shared_buffers = 512MB").
set -eu
timeout=${PGCLUSTER_TIMEOUT:-60}
superuser=ohets

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then # set: the only place looked at
    [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] || return 1
    echo "$PG_BINDIR"
    return 0
  fi
  # Debian keeps each major version apart: take the newest.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

need_bins() {
  if ! bin=$(bindir); then
    echo "pgcluster: PostgreSQL server programs (initdb, pg_ctl) not found; skipping" \
      "(Debian: apt-get install postgresql, as scripts/deps.sh does)" >&2
    exit 77
  fi
}

# The user the server runs as, and how to run a command as that user.
server_user() {
  if [ "$(id -u)" -ne 0 ]; then
    id -un
  elif id postgres >/dev/null 2>&1; then
    echo postgres
  else
    echo nobody
  fi
}

as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$(server_user)" -- "$@"
  else
    "$@"
  fi
}

port_of() {
  cat "$1/port"
}

usage() {
  sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd=${1:-}
[ $# -ge 1 ] || usage
shift

case $cmd in
bindir)
  need_bins
  echo "$bin"
  ;;
start)
  [ $# -ge 1 ] || usage
  need_bins
  dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ] && ! runuser -u "$(server_user)" -- test -x "$(dirname "$dir")"; then
    echo "pgcluster: $(server_user) cannot reach $dir (a parent directory is closed to it)" >&2
    exit 1
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    port=${2:-$((20000 + $$ % 20000))}
    echo "$port" >"$dir/port"
    if [ "$(id -u)" -eq 0 ]; then
      chown "$(server_user)" "$dir"
      chmod 700 "$dir"
    fi
    as_server "$bin/initdb" -D "$dir/data" -U "$superuser" --auth=trust --no-sync \
      -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
      echo "pgcluster: initdb failed:" >&2
      tail -n 20 "$dir/initdb.log" >&2
      exit 1
    }
    cat >>"$dir/data/postgresql.conf" <<EOF
# pgcluster.sh: a test cluster on a Unix socket only
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 100
wal_level = replica
max_wal_senders = 4
hot_standby = on
EOF
    if [ "${PGCLUSTER_DURABLE:-0}" != 1 ]; then
      printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' \
        >>"$dir/data/postgresql.conf"
    fi
    if [ -n "${PGCLUSTER_CONF:-}" ]; then
      printf '%s\n' "$PGCLUSTER_CONF" >>"$dir/data/postgresql.conf"
    fi
  fi
  as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$timeout" start \
    >/dev/null || {
    echo "pgcluster: pg_ctl start failed:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
  }
  ;;
stop)
  [ $# -ge 1 ] || usage
  need_bins
  dir=$(cd "$1" && pwd)
  mode=${2:-fast}
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_server "$bin/pg_ctl" -D "$dir/data" -w -t "$timeout" -m "$mode" stop >/dev/null
  fi
  ;;
reload)
  [ $# -ge 1 ] || usage
  need_bins
  dir=$(cd "$1" && pwd)
  as_server "$bin/pg_ctl" -D "$dir/data" reload >/dev/null
  ;;
url)
  [ $# -ge 1 ] || usage
  dir=$(cd "$1" && pwd)
  echo "postgresql://$superuser@/${2:-postgres}?host=$dir&port=$(port_of "$dir")"
  ;;
replica)
  [ $# -ge 2 ] || usage
  need_bins
  dir=$1
  primary=$(cd "$2" && pwd)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  port=${3:-$(($(port_of "$primary") + 1))}
  echo "$port" >"$dir/port"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$(server_user)" "$dir"
    chmod 700 "$dir"
  fi
  as_server "$bin/pg_basebackup" -h "$primary" -p "$(port_of "$primary")" -U "$superuser" \
    -D "$dir/data" -R -X stream --no-sync >"$dir/basebackup.log" 2>&1 || {
    echo "pgcluster: pg_basebackup failed:" >&2
    tail -n 20 "$dir/basebackup.log" >&2
    exit 1
  }
  # The copied settings name the primary's socket and port: later lines win.
  cat >>"$dir/data/postgresql.conf" <<EOF
# pgcluster.sh: the replica's own socket and port
unix_socket_directories = '$dir'
port = $port
EOF
  as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$timeout" start \
    >/dev/null || {
    echo "pgcluster: pg_ctl start (replica) failed:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
  }
  ;;
destroy)
  [ $# -ge 1 ] || usage
  dir=$1
  [ -d "$dir" ] || exit 0
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(bindir); then
    as_server "$bin/pg_ctl" -D "$dir/data" -w -t "$timeout" -m immediate stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  usage
  ;;
esac
