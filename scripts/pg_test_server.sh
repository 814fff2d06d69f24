#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite, on 127.0.0.1 only.
#
#   scripts/pg_test_server.sh start [DIR]   initdb a cluster in DIR (default: a new temp dir), start
#                                           it, create database ecmo_test, and print for eval:
#                                             ECMO_TEST_PG_DIR=...
#                                             ECMO_TEST_PG_PORT=...
#                                             ECMO_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/ecmo_test
#   scripts/pg_test_server.sh stop [DIR]    stop that server and delete DIR (DIR defaults to
#                                           $ECMO_TEST_PG_DIR)
#   scripts/pg_test_server.sh find-bin      print the PostgreSQL bin directory that would be used
#
# The role `postgres` is a superuser (trust authentication), so the tests can create a database per
# pytest-xdist worker. fsync stays on, as in production. The port is ECMO_TEST_PG_PORT when set;
# otherwise the first free one from 55432 upwards (several checkouts may test at once).
# PostgreSQL refuses to run as root: as root, the cluster belongs to, and runs as, the `postgres`
# system user (created by Debian's postgresql package).
set -euo pipefail

die() {
    printf 'pg_test_server: ERROR: %s\n' "$*" >&2
    exit 1
}

find_bin() {
    local dir best=""
    # Debian/Ubuntu: /usr/lib/postgresql/<major>/bin — take the newest major version.
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && best="$dir"
    done
    if [ -z "$best" ] && command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        [ -n "$dir" ] && [ -x "$dir/initdb" ] && best="$dir"
    fi
    if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        best="$(dirname "$(command -v initdb)")"
    fi
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

# Run a PostgreSQL server-side command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local bin dir data log port ports
    bin="$(find_bin)" || die "no PostgreSQL server binaries (install Debian's postgresql package)"
    dir="${1:-}"
    if [ -z "$dir" ]; then
        # As root the cluster runs as `postgres`, which must reach it: use /tmp, not a private TMPDIR.
        local base="${TMPDIR:-/tmp}"
        [ "$(id -u)" -eq 0 ] && base=/tmp
        dir="$(mktemp -d "$base/ecmo-test-pg.XXXXXX")"
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    data="$dir/data"
    log="$dir/server.log"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user (apt-get install postgresql)"
        chown postgres: "$dir"
        chmod 700 "$dir"
    fi

    as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        die "initdb failed: $(tail -n 3 "$dir/initdb.log" | tr '\n' ' ')"

    if [ -n "${ECMO_TEST_PG_PORT:-}" ]; then
        ports="$ECMO_TEST_PG_PORT"
    else
        ports="$(seq 55432 55531)"
    fi
    local started=""
    for port in $ports; do
        port_busy "$port" && continue
        # The socket lives in the cluster's own directory, so no lock file in /tmp or
        # /var/run/postgresql is shared with other servers.
        if as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=200" \
            start >/dev/null 2>&1; then
            started="$port"
            break
        fi
        [ -n "${ECMO_TEST_PG_PORT:-}" ] && break
    done
    if [ -z "$started" ]; then
        local why
        why="$(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ')"
        rm -rf "$dir"
        die "server did not start (port ${ECMO_TEST_PG_PORT:-55432..55531}): $why"
    fi

    "$bin/createdb" -h 127.0.0.1 -p "$started" -U postgres ecmo_test ||
        {
            as_owner "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
            rm -rf "$dir"
            die "createdb ecmo_test failed"
        }
    printf 'ECMO_TEST_PG_DIR=%q\n' "$dir"
    printf 'ECMO_TEST_PG_PORT=%q\n' "$started"
    printf 'ECMO_TEST_PG_URL=%q\n' "postgresql+psycopg://postgres@127.0.0.1:$started/ecmo_test"
}

stop() {
    local dir="${1:-${ECMO_TEST_PG_DIR:-}}" bin
    [ -n "$dir" ] || die "stop: which cluster? pass its directory or set ECMO_TEST_PG_DIR"
    [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin="$(find_bin)" || die "no PostgreSQL binaries to stop the server with"
        # fast: disconnect the clients, then shut down cleanly; immediate if that hangs.
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            printf 'pg_test_server: could not stop the server in %s\n' "$dir" >&2
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
find-bin) find_bin || die "no PostgreSQL server binaries" ;;
*)
    printf 'usage: %s start [DIR] | stop [DIR] | find-bin\n' "$0" >&2
    exit 2
    ;;
esac
