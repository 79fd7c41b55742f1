# shellcheck shell=bash
# Sourced (after tests/lib/common.sh) by the Docker integration tests and the bench.
# Provides:
#   ensure_dockerd            skip (77) loudly when docker.io is missing; start dockerd when
#                             none answers (stopped again at exit unless the runner owns it)
#   docker_project P          register cleanup of project P (by label and by name) at exit
#   docker_cleanup_project P  remove P's containers, networks, volumes (docker CLI, not cdcctl)
#   run_cdcctl ARGS...        run $CDCCTL; sets CC_RC, CC_MS (wall ms), CC_OUT, CC_ERR
#   show_cdcctl               print the last run's command, status, stdout and stderr
#   expect_rc WHAT N          fail (showing the run) unless the last run exited N
#   cid P S                   full id of service S's container(s) in project P ("" if none)
#   count_containers|count_networks|count_volumes P   objects labelled io.cdcctl.project=P
#   started_at ID, finished_at ID, ts_ns RFC3339      timestamps as integer nanoseconds
#   fixture NAME DIR          copy tests/data/stack/NAME into DIR, print the copy's path
#   tmpdir VAR                make a temp dir removed at exit and store its path in VAR
#                             (common.sh's mktmp registers its cleanup inside $(...), where
#                             it is lost, so T=$(mktmp) would leave the dir behind)
# Project names used by the tests start with "cdcctl-it-" and end with the test's pid.
_DOCKER_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CDCCTL_TIMEOUT=${CDCCTL_TIMEOUT:-120}
CC_RC=0 CC_MS=0 CC_OUT="" CC_ERR="" CC_CMD=""

ensure_dockerd() {
    command -v docker >/dev/null 2>&1 ||
        skip "docker.io is not installed (no docker CLI): apt-get install docker.io, or run tests/setup.sh"
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    local rc=0
    "$_DOCKER_LIB_DIR/dockerd-start.sh" || rc=$?
    [ $rc -eq 77 ] && skip "docker.io is not installed (no /usr/sbin/dockerd): apt-get install docker.io"
    [ $rc -eq 0 ] || fail "no Docker daemon answers and tests/lib/dockerd-start.sh could not start one"
    # Run alone (not under tests/run-integration.sh, which starts and stops one daemon for
    # the whole run and sets CDCCTL_DOCKERD_SHARED): stop the daemon we just started.
    if [ -z "${CDCCTL_DOCKERD_SHARED:-}" ]; then
        on_exit "'$_DOCKER_LIB_DIR/dockerd-stop.sh'"
    fi
}

docker_cleanup_project() {
    local p=$1 ids
    ids=$( { docker ps -aq --filter "label=io.cdcctl.project=$p"
             docker ps -aq --filter "name=^/?$p-"; } 2>/dev/null | sort -u)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker rm -f -v $ids >/dev/null 2>&1
    ids=$( { docker network ls -q --filter "label=io.cdcctl.project=$p"
             docker network ls -q --filter "name=^${p}_"; } 2>/dev/null | sort -u)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker network rm $ids >/dev/null 2>&1
    ids=$( { docker volume ls -q --filter "label=io.cdcctl.project=$p"
             docker volume ls -q --filter "name=^${p}_"; } 2>/dev/null | sort -u)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && docker volume rm -f $ids >/dev/null 2>&1
    return 0
}

docker_project() {
    case $1 in cdcctl-it-*) ;; *) fail "test project names must start with cdcctl-it-: $1" ;; esac
    docker_cleanup_project "$1"
    on_exit "docker_cleanup_project '$1'"
}

tmpdir() {
    local d
    d=$(mktemp -d /tmp/cdcctl-test.XXXXXX) || fail "mktemp failed"
    on_exit "rm -rf '$d'"
    printf -v "$1" '%s' "$d"
}

_cc_tmp() {
    [ -n "${_CC_TMP:-}" ] || tmpdir _CC_TMP
}

run_cdcctl() {
    _cc_tmp
    local t0 t1
    CC_CMD="cdcctl $*"
    t0=$(date +%s%N)
    timeout "$CDCCTL_TIMEOUT" "$CDCCTL" "$@" >"$_CC_TMP/out" 2>"$_CC_TMP/err" </dev/null
    CC_RC=$?
    t1=$(date +%s%N)
    CC_MS=$(( (t1 - t0) / 1000000 ))
    CC_OUT=$(cat "$_CC_TMP/out")
    CC_ERR=$(cat "$_CC_TMP/err")
    [ $CC_RC -eq 124 ] && { show_cdcctl; fail "$CC_CMD: still running after ${CDCCTL_TIMEOUT}s (killed)"; }
    return 0
}

show_cdcctl() {
    {
        echo "---- $CC_CMD -> exit $CC_RC (${CC_MS} ms)"
        echo "---- stdout:"; printf '%s\n' "$CC_OUT" | tail -n 60
        echo "---- stderr:"; printf '%s\n' "$CC_ERR" | tail -n 60
        echo "----"
    } >&2
}

expect_rc() {
    if [ "$CC_RC" != "$2" ]; then
        show_cdcctl
        fail "$1: expected exit $2, got $CC_RC"
    fi
    pass_msg "$1: exit $2 (${CC_MS} ms)"
}

cid() {
    docker ps -aq --no-trunc --filter "label=io.cdcctl.project=$1" --filter "label=io.cdcctl.service=$2"
}
count_containers() { docker ps -aq --filter "label=io.cdcctl.project=$1" | wc -l | tr -d ' '; }
count_networks() { docker network ls -q --filter "label=io.cdcctl.project=$1" | wc -l | tr -d ' '; }
count_volumes() { docker volume ls -q --filter "label=io.cdcctl.project=$1" | wc -l | tr -d ' '; }

# RFC 3339 (nanoseconds, as Docker prints them) -> integer nanoseconds since the epoch.
ts_ns() {
    python3 - "$1" <<'PY'
import sys, datetime
s = sys.argv[1].rstrip("Z")
base, _, frac = s.partition(".")
dt = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
print(int(dt.timestamp()) * 10**9 + int((frac + "000000000")[:9]))
PY
}
started_at() { ts_ns "$(docker inspect -f '{{.State.StartedAt}}' "$1")"; }
finished_at() { ts_ns "$(docker inspect -f '{{.State.FinishedAt}}' "$1")"; }

fixture() {
    local src=$CDCCTL_ROOT/tests/data/stack/$1
    [ -f "$src" ] || fail "fixture $src is missing"
    cp "$src" "$2/" || fail "cannot copy $src"
    echo "$2/$1"
}

# wait_health ID STATUS SECONDS: wait until the container's health is STATUS.
wait_health() {
    wait_for "$3" sh -c "[ \"\$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' '$1')\" = '$2' ]"
}
