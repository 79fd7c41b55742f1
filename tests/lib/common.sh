# Sourced by integration tests. Provides: skip, fail, need_cmd, free_port, mktmp
# (removed at exit), on_exit (cleanup hooks run in reverse order), wait_for.
set -u
CDCCTL=${CDCCTL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/cdcctl}
CDCCTL_ROOT=${CDCCTL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HELPERS=${HELPERS:-$CDCCTL_ROOT/build/tests/helpers}
_exit_hooks=()
on_exit() { _exit_hooks+=("$*"); }
_run_exit_hooks() {
    local i
    for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do eval "${_exit_hooks[$i]}" || true; done
}
trap _run_exit_hooks EXIT
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass_msg() { echo "ok: $*"; }
need_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "'$c' not found"; done; }
# Every temp dir of a test lives under one root removed at exit, so `d=$(mktmp)`
# works even though the command substitution runs in a subshell.
TEST_TMPROOT=$(mktemp -d /tmp/cdcctl-test.XXXXXX)
on_exit "rm -rf '$TEST_TMPROOT'"
mktmp() { mktemp -d "$TEST_TMPROOT/tmp.XXXXXX"; }
# A free TCP port on 127.0.0.1 (asks the kernel, then releases it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_for SECONDS CMD...: retries CMD every 0.2 s until it succeeds or time runs out.
wait_for() {
    local secs=$1; shift
    local end=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.2
    done
}
# stop_pid PID: SIGTERM, then SIGKILL if it is still there after 10 s.
stop_pid() {
    kill "$1" 2>/dev/null || return 0
    local i
    for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}
# assert_eq WHAT EXPECTED ACTUAL
assert_eq() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; pass_msg "$1 = '$3'"; }
