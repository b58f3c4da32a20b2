#!/usr/bin/env bash
# Makes sure Postgres and Redis answer on this machine: use them if they do, else start the
# local ones, else install them from Debian's packages and start them.
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

log() { echo "[services] $*" >&2; }

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; else (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; fi
}
redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; else (exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT") 2>/dev/null; fi
}
wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do $check && return 0; sleep 0.5; done
  log "$what did not come up"; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  log "installing $* from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_up
  # Local development uses trust auth for the postgres user on loopback, as on this machine kind.
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -c 'select 1' >/dev/null 2>&1; then
    hba=/etc/postgresql/$version/main/pg_hba.conf
    log "allowing trust auth on loopback in $hba"
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi

# Redis holds the queues, acknowledged readings included: the one started here keeps them in
# an append-only file under .data/redis, so a Redis restart loses nothing (docs/durability.md).
if ! redis_up; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  redis_dir="$(cd "$(dirname "$0")/.." && pwd)/.data/redis"
  mkdir -p "$redis_dir"
  log "starting Redis with an append-only file in $redis_dir"
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$redis_dir" \
    --appendonly yes --appendfsync everysec --save "" --logfile "$redis_dir/redis.log" >/dev/null
  wait_for Redis redis_up
elif command -v redis-cli >/dev/null 2>&1 &&
  [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get appendonly 2>/dev/null | sed -n 2p)" = no ]; then
  log "WARNING: the Redis on $REDIS_HOST:$REDIS_PORT has no append-only file (appendonly no): a Redis restart"
  log "  loses queued work, acknowledged readings included. See docs/durability.md."
fi
log "PostgreSQL on $PG_HOST:$PG_PORT and Redis on $REDIS_HOST:$REDIS_PORT are up"
