#!/usr/bin/env bash
# Throwaway PostgreSQL 15 and MariaDB servers on 127.0.0.1 for the test suite.
#
#   bash test/support/servers.sh up   DB_BASE [pg] [mysql]   start them (both by default), write DB_BASE/env.sh
#   bash test/support/servers.sh down DB_BASE                stop what DB_BASE holds, then remove DB_BASE
#
# Everything lives in DB_BASE (data, sockets, logs, pid files): stopping goes by pid file and
# data dir only, never by process name, so servers of other runs on the same host are safe.
# Ports start at PG_PORT (54339) / MY_PORT (33079) and move up past ports already in use,
# so parallel runs and the dev servers on 54329/33069 do not clash.
# Made for a fresh Debian 12 run as root (postgresql-15 installed, MariaDB installed here
# with apt-get when missing); as a non-root user it runs the servers as that user instead.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PATH=$PATH:/usr/sbin:/sbin # mariadbd, runuser, useradd, even when the caller's PATH lacks them
MARIADB_PKGS=${MARIADB_PKGS:-mariadb-server}
POLICY_RC_D=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
PORT_TRIES=20

log() { echo "servers: $*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }
is_root() { [ "$(id -u)" = 0 ]; }

# Something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

next_free_port() {
  local port=$1
  while port_busy "$port"; do port=$((port + 1)); done
  echo "$port"
}

as_postgres() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_mariadb_installed() {
  command -v mariadbd >/dev/null 2>&1 && return 0
  is_root || die "mariadbd is missing; install MariaDB ($MARIADB_PKGS) or set MYSQL_URL"
  log "installing $MARIADB_PKGS with apt-get"
  # The package's postinst would start a system server on :3306; a policy-rc.d that denies
  # service starts (what Debian container images ship) prevents that with and without systemd.
  local own_policy=0
  if [ ! -e "$POLICY_RC_D" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    own_policy=1
  fi
  local rc=0
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $MARIADB_PKGS
  } </dev/null >&2 || rc=$?
  if [ "$own_policy" = 1 ]; then rm -f "$POLICY_RC_D"; fi
  [ "$rc" = 0 ] || die "apt-get install $MARIADB_PKGS failed ($rc)"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mariadb 2>/dev/null; then
    systemctl stop mariadb
  fi
  command -v mariadbd >/dev/null 2>&1 || die "mariadbd still missing after installing $MARIADB_PKGS"
}

pg_up() {
  local base=$1 dir=$1/pg port tries=0
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PGBIN (set PGBIN or PG_URL)"
  if is_root && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$dir"
  if is_root; then chown postgres:postgres "$dir"; fi
  as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  port=$(next_free_port "${PG_PORT:-54339}")
  while :; do
    if as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >"$dir/pg_ctl.log" 2>&1; then
      break
    fi
    # Another run may have taken the port between the check and the bind: try the next one.
    tries=$((tries + 1))
    if grep -q "already in use" "$dir/server.log" 2>/dev/null && [ "$tries" -lt "$PORT_TRIES" ]; then
      port=$(next_free_port $((port + 1)))
      continue
    fi
    cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
    die "postgres did not start"
  done
  # Through our own socket, so this can only reach the server just started.
  "$PGBIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qc "create database test" >&2
  echo "export PG_URL=postgres://postgres@127.0.0.1:$port/test" >>"$base/env.sh"
}

my_started() { mariadb --no-defaults --socket="$1/mysqld.sock" -uroot -e "select 1" >/dev/null 2>&1; }

my_up() {
  local base=$1 dir=$1/mysql port tries=0 user_args=() i
  ensure_mariadb_installed
  if is_root; then
    id mysql >/dev/null 2>&1 ||
      useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mysql
    user_args=(--user=mysql)
  fi
  mkdir -p "$dir/data"
  if is_root; then chown -R mysql:mysql "$dir"; fi
  mariadb-install-db --no-defaults "${user_args[@]}" --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  port=$(next_free_port "${MY_PORT:-33079}")
  while :; do
    # setsid + nohup + redirected fds: detached from the caller's terminal signals, and
    # holding none of the caller's pipes open (CI waits for those).
    setsid nohup "$(command -v mariadbd)" --no-defaults "${user_args[@]}" --datadir="$dir/data" \
      --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
      --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
      --log-error="$dir/error.log" --innodb-flush-log-at-trx-commit=0 --max-connections=200 \
      </dev/null >"$dir/stdout.log" 2>&1 &
    for i in $(seq 1 240); do
      my_started "$dir" && break 2
      grep -qE "Aborting|Can't start server" "$dir/error.log" 2>/dev/null && break
      sleep 0.125
    done
    tries=$((tries + 1))
    if grep -qE "Address already in use|Bind on TCP/IP port" "$dir/error.log" 2>/dev/null && [ "$tries" -lt "$PORT_TRIES" ]; then
      wait_gone "$dir/mysqld.pid" || true
      mv "$dir/error.log" "$dir/error.$tries.log"
      port=$(next_free_port $((port + 1)))
      continue
    fi
    cat "$dir/error.log" >&2 2>/dev/null || true
    die "mariadb did not start"
  done
  mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e \
    "create database test; create user 'test'@'%' identified by 'test'; grant all on test.* to 'test'@'%';
     create user 'admin'@'%' identified by 'admin'; grant all on *.* to 'admin'@'%';"
  echo "export MYSQL_URL=mysql://test:test@127.0.0.1:$port/test" >>"$base/env.sh"
  # For the tests that create throwaway databases (concurrent migrate on an empty database).
  echo "export MYSQL_ADMIN_URL=mysql://admin:admin@127.0.0.1:$port/test" >>"$base/env.sh"
}

# Waits (up to 30 s) for the process in pid file $1 to exit.
wait_gone() {
  local pid i
  [ -f "$1" ] || return 0
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  for i in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.125; done
  return 1
}

servers_up() {
  local base=${1:?DB_BASE required} t0 t w took=()
  shift
  local which=("$@")
  [ ${#which[@]} -gt 0 ] || which=(pg mysql)
  mkdir -p "$base"
  chmod 755 "$base" # the postgres and mysql users must traverse it
  : >"$base/env.sh"
  t0=$(now)
  for w in "${which[@]}"; do
    t=$(now)
    case $w in
      pg) pg_up "$base" ;;
      mysql) my_up "$base" ;;
      *) die "unknown server '$w' (pg or mysql)" ;;
    esac
    took+=("$w $(secs "$t" "$(now)")")
  done
  log "started ${took[*]} (total $(secs "$t0" "$(now)")) in $base"
}

servers_down() {
  local base=${1:?DB_BASE required} mypid=
  [ -d "$base" ] || return 0
  # SIGTERM is MariaDB's clean shutdown; let it run while PostgreSQL stops.
  if [ -f "$base/mysql/mysqld.pid" ]; then
    mypid=$(cat "$base/mysql/mysqld.pid")
    kill -TERM "$mypid" 2>/dev/null || true
  fi
  if [ -f "$base/pg/data/postmaster.pid" ]; then
    as_postgres "$PGBIN/pg_ctl" -D "$base/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      log "pg_ctl stop failed for $base/pg/data"
  fi
  if [ -n "$mypid" ] && ! wait_gone "$base/mysql/mysqld.pid"; then
    log "mariadb $mypid did not stop in 30 s, killing it"
    kill -KILL "$mypid" 2>/dev/null || true
  fi
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$base"
}

case ${1:-} in
  up) shift; servers_up "$@" ;;
  down) shift; servers_down "$@" ;;
  *) echo "usage: $0 up DB_BASE [pg] [mysql] | down DB_BASE" >&2; exit 2 ;;
esac
