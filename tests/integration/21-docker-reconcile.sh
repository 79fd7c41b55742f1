#!/usr/bin/env bash
# 21-docker-reconcile: `cdcctl up` is a reconcile. Again on an unchanged manifest it
# changes nothing (same container ids, nothing restarted, well under a second); changing
# one service's environment value, image or file content recreates only that service; a
# stopped container is started again (same id); containers of services no longer in the
# manifest are reported, and removed with --remove-orphans. Checked with the docker CLI.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
need_cmd python3 curl
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-rec-$$
P2=cdcctl-it-orph-$$
docker_project "$P"
docker_project "$P2"
tmpdir T
M=$(fixture stack.yaml "$T")
echo "hello from $P" > "$T/index.html"
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT
unset GREETING WEB_IMAGE ABOUT
SERVICES="web db init app"

declare -A ID START
snapshot() { # records every service's container id and start time
    local s
    for s in $SERVICES; do
        ID[$s]=$(cid "$P" "$s")
        [ "$(printf '%s\n' "${ID[$s]}" | grep -c .)" = 1 ] || fail "service $s: expected one container, got '${ID[$s]}'"
        START[$s]=$(docker inspect -f '{{.State.StartedAt}}' "${ID[$s]}")
    done
}
# expect_only WHAT SVC|-: after a change, SVC (or none for -) has a new container; every
# other service keeps its container id and was not restarted.
expect_only() {
    local what=$1 changed=$2 s now
    assert_eq "$what: containers of the project" 4 "$(count_containers "$P")"
    for s in $SERVICES; do
        now=$(cid "$P" "$s")
        if [ "$s" = "$changed" ]; then
            [ -n "$now" ] && [ "$now" != "${ID[$s]}" ] || fail "$what: $s was not recreated (id ${ID[$s]:0:12} -> ${now:0:12})"
            pass_msg "$what: $s recreated (${ID[$s]:0:12} -> ${now:0:12})"
            docker inspect "${ID[$s]}" >/dev/null 2>&1 && fail "$what: the old $s container ${ID[$s]:0:12} still exists"
        else
            assert_eq "$what: $s container id" "${ID[$s]:0:12}" "${now:0:12}"
            assert_eq "$what: $s not restarted (StartedAt)" "${START[$s]}" "$(docker inspect -f '{{.State.StartedAt}}' "$now")"
        fi
    done
}

run_cdcctl -f "$M" up
expect_rc "first up" 0
snapshot
HASH_DB=$(docker inspect -f '{{index .Config.Labels "io.cdcctl.config-hash"}}' "${ID[db]}")

# --- no-op up: nothing changes, well under a second
run_cdcctl -f "$M" up
expect_rc "no-op up" 0
NOOP_MS=$CC_MS
expect_only "no-op up" -
[ "$NOOP_MS" -lt 1000 ] || fail "no-op up took $NOOP_MS ms (must be well under a second)"
pass_msg "no-op up took $NOOP_MS ms (< 1000 ms)"
run_cdcctl -f "$M" up
expect_rc "second no-op up" 0
expect_only "second no-op up" -
echo "21-docker-reconcile: no-op up of 4 services: ${NOOP_MS} ms and ${CC_MS} ms"

# --- an environment value changes: only db is recreated
export GREETING=changed
run_cdcctl -f "$M" up
expect_rc "up after an environment change" 0
expect_only "environment change" db
assert_eq "db sees the new value (same volume)" changed "$(docker exec "$(cid "$P" db)" cat /data/hello)"
[ "$(docker inspect -f '{{index .Config.Labels "io.cdcctl.config-hash"}}' "$(cid "$P" db)")" != "$HASH_DB" ] ||
    fail "db's io.cdcctl.config-hash did not change with its environment"
assert_eq "db state" running "$(docker inspect -f '{{.State.Status}}' "$(cid "$P" db)")"
snapshot

# --- the image changes: only web is recreated
export WEB_IMAGE=cdcctl-test/busybox:2
run_cdcctl -f "$M" up
expect_rc "up after an image change" 0
expect_only "image change" web
W=$(cid "$P" web)
assert_eq "web image" cdcctl-test/busybox:2 "$(docker inspect -f '{{.Config.Image}}' "$W")"
assert_eq "web runs the new image's content" 2 "$(docker exec "$W" cat /etc/cdcctl-test-image)"
assert_eq "web health" healthy "$(docker inspect -f '{{.State.Health.Status}}' "$W")"
snapshot

# --- a file's content changes (the manifest text does not): only web is recreated
echo "new content for $P" > "$T/index.html"
run_cdcctl -f "$M" up
expect_rc "up after a file content change" 0
expect_only "file content change" web
assert_eq "new file content via the published port" "new content for $P" \
    "$(curl -s --max-time 5 "http://127.0.0.1:$WEB_PORT/index.html")"
snapshot

# --- a stopped container is started again, same id
docker stop -t 1 "${ID[db]}" >/dev/null || fail "docker stop db"
run_cdcctl -f "$M" up
expect_rc "up after docker stop of db" 0
assert_eq "db container id after docker stop + up" "${ID[db]:0:12}" "$(cid "$P" db | cut -c1-12)"
assert_eq "db state" running "$(docker inspect -f '{{.State.Status}}' "${ID[db]}")"
START[db]=$(docker inspect -f '{{.State.StartedAt}}' "${ID[db]}")
expect_only "stopped db started again" -

# --- orphans: reported, kept, then removed with --remove-orphans
M1=$(fixture orphans-before.yaml "$T")
M2=$(fixture orphans-after.yaml "$T")
PROJECT=$P2 run_cdcctl -f "$M1" up
expect_rc "orphans: up with services one and two" 0
ONE=$(cid "$P2" one) TWO=$(cid "$P2" two)
[ -n "$ONE" ] && [ -n "$TWO" ] || fail "orphans: containers one/two missing after up"
PROJECT=$P2 run_cdcctl -f "$M2" up
expect_rc "orphans: up without two" 0
both="$CC_OUT
$CC_ERR"
printf '%s\n' "$both" | grep -i orphan | grep -q -- "$P2-two-1" ||
    { show_cdcctl; fail "orphans: the output does not report the orphan container $P2-two-1"; }
pass_msg "orphan reported: $(printf '%s\n' "$both" | grep -i orphan | head -1)"
printf '%s\n' "$both" | grep -q -- '--remove-orphans' ||
    { show_cdcctl; fail "orphans: the report does not mention --remove-orphans"; }
assert_eq "orphans: two is kept without --remove-orphans" "${TWO:0:12}" "$(cid "$P2" two | cut -c1-12)"
assert_eq "orphans: one unchanged" "${ONE:0:12}" "$(cid "$P2" one | cut -c1-12)"
PROJECT=$P2 run_cdcctl -f "$M2" up --remove-orphans
expect_rc "orphans: up --remove-orphans" 0
assert_eq "orphans: two removed" "" "$(cid "$P2" two)"
assert_eq "orphans: one unchanged" "${ONE:0:12}" "$(cid "$P2" one | cut -c1-12)"
assert_eq "orphans: containers left" 1 "$(count_containers "$P2")"
PROJECT=$P2 run_cdcctl -f "$M2" up
expect_rc "orphans: up after removal" 0
printf '%s\n%s\n' "$CC_OUT" "$CC_ERR" | grep -qi orphan && { show_cdcctl; fail "orphans: still reported after removal"; }
pass_msg "orphans: nothing reported any more"
