#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL at 127.0.0.1:5432 (database
# `test`, trust authentication) and Redis at 127.0.0.1:6379.
#
# A service that is installed but stopped is started; one that is missing is named, with how
# to install it. The script always exits 0: the tests decide (they skip on a developer's
# machine and fail under CI when a service is not there).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_HOST=127.0.0.1
PG_PORT=5432
PG_DB=test
PG_USER=postgres
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

say() { printf 'services: %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for CHECK SECONDS: poll CHECK every 0.2 s until it succeeds or time runs out.
wait_for() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        "$1" && return 0
        sleep 0.2
    done
    return 1
}

pg_up() {
    if have pg_isready; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
    else
        port_open "$PG_HOST" "$PG_PORT"
    fi
}

pg_database_ok() {
    PGCONNECT_TIMEOUT=3 psql -w -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
        -Atqc 'select 1' >/dev/null 2>&1
}

redis_up() {
    if have redis-cli; then
        [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
    else
        port_open "$REDIS_HOST" "$REDIS_PORT"
    fi
}

check_postgres() {
    if ! pg_up; then
        if have pg_ctlcluster && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
            local version
            version="$(ls /etc/postgresql | sort -V | tail -n 1)"
            say "PostgreSQL $version is installed but not running; starting it"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 | sed 's/^/services:   /'
            if ! wait_for pg_up 20; then
                say "PostgreSQL did not start; see /var/log/postgresql/postgresql-$version-main.log"
                return
            fi
        else
            say "PostgreSQL is not installed (needed at $PG_HOST:$PG_PORT, database '$PG_DB', trust auth)."
            say "  Debian/Ubuntu: apt-get install -y postgresql, then"
            say "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
            say "  and createdb -h $PG_HOST -U $PG_USER $PG_DB (with 'trust' for 127.0.0.1 in pg_hba.conf)."
            return
        fi
    fi
    if ! have psql; then
        say "PostgreSQL answers at $PG_HOST:$PG_PORT (psql is not installed to check database '$PG_DB')"
        return
    fi
    if ! pg_database_ok; then
        # The server is up; the database may simply not exist yet on a new machine.
        createdb -w -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >/dev/null 2>&1 \
            && say "created database '$PG_DB'"
    fi
    if pg_database_ok; then
        say "PostgreSQL ok ($PG_USER@$PG_HOST:$PG_PORT/$PG_DB)"
    else
        say "PostgreSQL answers, but database '$PG_DB' is not reachable as '$PG_USER' without a password:"
        say "  allow 'trust' for host 127.0.0.1 in pg_hba.conf and run createdb -h $PG_HOST -U $PG_USER $PG_DB"
    fi
}

check_redis() {
    if redis_up; then
        say "Redis ok ($REDIS_HOST:$REDIS_PORT)"
        return
    fi
    if ! have redis-server; then
        say "Redis is not installed (needed at $REDIS_HOST:$REDIS_PORT)."
        say "  Debian/Ubuntu: apt-get install -y redis-server (this script then starts it)"
        return
    fi
    local dir=/var/lib/redis log=/var/log/redis/ci.log
    mkdir -p "$dir" "$(dirname "$log")" 2>/dev/null
    if ! [ -w "$dir" ] || ! [ -w "$(dirname "$log")" ]; then
        # Not root: keep Redis's files in the work tree's ignored var/ folder instead.
        dir="$ROOT/var/redis"
        log="$dir/redis.log"
        mkdir -p "$dir"
    fi
    say "Redis is installed but not running; starting it"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir "$dir" --logfile "$log" 2>&1 | sed 's/^/services:   /'
    if wait_for redis_up 10; then
        say "Redis ok ($REDIS_HOST:$REDIS_PORT)"
    else
        say "Redis did not start; see $log"
    fi
}

check_postgres
check_redis
exit 0
