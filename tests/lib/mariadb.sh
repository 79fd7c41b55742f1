# Sourced by integration tests after tests/lib/common.sh. A throwaway MariaDB
# server (the MySQL-protocol endpoint the bootstrap is tested against):
#
#   mariadb_start            starts mariadbd on a free 127.0.0.1 port in its own
#                            temp dir; sets MARIADB_PORT, MARIADB_SOCKET,
#                            MARIADB_ADDR (127.0.0.1:port); stopped and removed at
#                            exit. Skips (exit 77, loudly) when mariadbd is absent.
#   mariadb_root ARGS...     runs the mariadb client as root over the socket
#   mariadb_tcp USER PW ARGS... runs the client over TCP as USER; the password is
#                            passed in MYSQL_PWD (environment), never in argv
mariadb_start() {
    need_cmd mariadbd mariadb-install-db mariadb mariadb-admin
    local dir user=()
    dir=$(mktmp)
    [ "$(id -u)" = 0 ] && user=(--user=root)
    MARIADB_SOCKET=$dir/mysqld.sock
    MARIADB_PORT=$(free_port)
    MARIADB_ADDR=127.0.0.1:$MARIADB_PORT
    mariadb-install-db --no-defaults "${user[@]}" --datadir="$dir/db" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log" >&2; fail "mariadb-install-db failed"; }
    mariadbd --no-defaults "${user[@]}" --datadir="$dir/db" --socket="$MARIADB_SOCKET" \
        --port="$MARIADB_PORT" --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \
        --log-error="$dir/error.log" --skip-log-bin --innodb-buffer-pool-size=32M \
        >/dev/null 2>&1 &
    MARIADB_PID=$!
    on_exit "mariadb_stop"
    if ! wait_for 30 mariadb-admin --no-defaults --socket="$MARIADB_SOCKET" -uroot ping; then
        cat "$dir/error.log" >&2
        fail "mariadbd did not come up on port $MARIADB_PORT"
    fi
    MARIADB_DIR=$dir
    export MARIADB_PORT MARIADB_SOCKET MARIADB_ADDR
}

mariadb_stop() {
    [ -n "${MARIADB_PID:-}" ] || return 0
    kill -CONT "$MARIADB_PID" 2>/dev/null # a test may have frozen it
    kill "$MARIADB_PID" 2>/dev/null
    local i
    for i in $(seq 1 100); do
        kill -0 "$MARIADB_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$MARIADB_PID" 2>/dev/null
    wait "$MARIADB_PID" 2>/dev/null
    MARIADB_PID=
}

mariadb_root() { mariadb --no-defaults --socket="$MARIADB_SOCKET" -uroot "$@"; }

mariadb_tcp() {
    local user=$1 pw=$2
    shift 2
    MYSQL_PWD=$pw mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$MARIADB_PORT" -u"$user" "$@"
}
