#!/usr/bin/env bash
# 26-docker-daemon-errors: an unreachable or refusing Docker daemon gets exit 1 and one
# clear sentence naming the endpoint, never a curl code: DOCKER_HOST at a missing unix
# socket, at a socket file nobody listens on, at a TCP port nobody listens on, at a TCP
# peer that closes every connection, and (as a user outside the docker group) the real
# socket with permission denied. For up, status, down and logs. Then the other side:
# the same commands work through tcp:// (a forwarder to the real socket) and through a
# unix:// socket at a non-default path.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
need_cmd python3
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-derr-$$
tmpdir T
chmod 755 "$T"
M=$(fixture stack.yaml "$T")
echo "hello" > "$T/index.html"
chmod 644 "$M" "$T/index.html"
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT
unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CONTEXT DOCKER_API_VERSION

# A unix socket file with no listener: connect() gets ECONNREFUSED.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/dead.sock" ||
    fail "cannot make $T/dead.sock"
# A TCP peer that accepts and closes at once (not a Docker daemon).
CLOSE_PORT=$(free_port)
python3 - "$CLOSE_PORT" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept(); c.close()
PY
CLOSER=$!
on_exit "kill $CLOSER 2>/dev/null"
wait_for 5 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$CLOSE_PORT" ||
    fail "the closing TCP peer did not start"

# check_sentence WHAT ADDRESS: the last run failed with exit 1 and one clear sentence.
check_sentence() {
    local what=$1 addr=$2 lines
    expect_rc "$what" 1
    lines=$(printf '%s\n' "$CC_ERR" | grep -c .)
    [ "$lines" = 1 ] || { show_cdcctl; fail "$what: expected one line on stderr, got $lines"; }
    case $CC_ERR in "cdcctl: "*) ;; *) show_cdcctl; fail "$what: stderr does not start with 'cdcctl: '" ;; esac
    if printf '%s' "$CC_ERR" | grep -Eiq 'curl|\(([0-9]+)\)|errno'; then
        show_cdcctl; fail "$what: the message leaks a curl code: $CC_ERR"
    fi
    printf '%s' "$CC_ERR" | grep -qF -- "$addr" || { show_cdcctl; fail "$what: the message does not name $addr"; }
    [ "$CC_MS" -lt 10000 ] || fail "$what: took $CC_MS ms to report an unreachable daemon"
    pass_msg "$what: $CC_ERR"
}

run_all() { # LABEL DOCKER_HOST ADDRESS-IN-MESSAGE [runner prefix...]
    local label=$1 host=$2 addr=$3
    shift 3
    for cmd in "up" "status" "down" "logs web"; do
        # shellcheck disable=SC2086
        DOCKER_HOST=$host run_cdcctl -f "$M" $cmd
        check_sentence "$label: $cmd" "$addr"
    done
}

run_all "missing unix socket" "unix:///tmp/cdcctl-it-nosock-$$.sock" "/tmp/cdcctl-it-nosock-$$.sock"
run_all "socket file without a listener" "unix://$T/dead.sock" "$T/dead.sock"
NOPORT=$(free_port)
run_all "tcp port nobody listens on" "tcp://127.0.0.1:$NOPORT" "127.0.0.1:$NOPORT"
run_all "tcp peer that closes the connection" "tcp://127.0.0.1:$CLOSE_PORT" "127.0.0.1:$CLOSE_PORT"

# Permission denied on the real socket, for a user outside the docker group.
SOCK=/var/run/docker.sock
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && [ -S "$SOCK" ] &&
   ! setpriv --reuid=65534 --regid=65534 --clear-groups test -w "$SOCK"; then
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$CDCCTL" ||
        fail "$CDCCTL is not executable by nobody (needed for the permission case)"
    for cmd in up status; do
        CC_CMD="(as nobody) cdcctl -f $M $cmd"
        t0=$(date +%s%N)
        HOME=$T DOCKER_HOST=unix://$SOCK timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$CDCCTL" -f "$M" $cmd >"$T/out" 2>"$T/err" </dev/null
        CC_RC=$?
        CC_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
        CC_OUT=$(cat "$T/out") CC_ERR=$(cat "$T/err")
        check_sentence "permission denied: $cmd" "$SOCK"
        printf '%s' "$CC_ERR" | grep -qi 'permission' ||
            { show_cdcctl; fail "permission denied: $cmd: the message does not say permission is denied"; }
    done
else
    echo "note: permission-denied case not run (needs root, setpriv and a socket closed to others)" >&2
fi

# --- DOCKER_HOST that works: tcp:// through a forwarder to the daemon's socket, and
# unix:// at another path (a symlink to it).
SOCK=/var/run/docker.sock
[ -S "$SOCK" ] || fail "$SOCK is not a socket (the tests expect the daemon there)"
docker_project "$P"
FWD_PORT=$(free_port)
python3 - "$FWD_PORT" "$SOCK" <<'PY' &
import socket, sys, threading
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def handle(c):
    u = socket.socket(socket.AF_UNIX)
    u.connect(sys.argv[2])
    ts = [threading.Thread(target=pipe, args=x, daemon=True) for x in ((c, u), (u, c))]
    for t in ts: t.start()
    for t in ts: t.join()
    c.close(); u.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
FWD=$!
on_exit "kill $FWD 2>/dev/null"
wait_for 5 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$FWD_PORT" ||
    fail "the tcp forwarder did not start"
ln -s "$SOCK" "$T/other.sock"
MO=$(fixture orphans-after.yaml "$T")
DOCKER_HOST=tcp://127.0.0.1:$FWD_PORT run_cdcctl -f "$MO" up
expect_rc "DOCKER_HOST=tcp://127.0.0.1:$FWD_PORT: up" 0
assert_eq "up through tcp:// made the container" running \
    "$(docker inspect -f '{{.State.Status}}' "$(cid "$P" one)" 2>/dev/null)"
DOCKER_HOST=unix://$T/other.sock run_cdcctl -f "$MO" status --json
expect_rc "DOCKER_HOST=unix://$T/other.sock: status" 0
DOCKER_HOST=tcp://127.0.0.1:$FWD_PORT run_cdcctl -f "$MO" up
expect_rc "DOCKER_HOST=tcp://: no-op up" 0
DOCKER_HOST=tcp://127.0.0.1:$FWD_PORT run_cdcctl -f "$MO" down --volumes
expect_rc "DOCKER_HOST=tcp://: down --volumes" 0
assert_eq "down through tcp:// removed everything" "0 0" "$(count_containers "$P") $(count_networks "$P")"
