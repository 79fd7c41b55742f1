#!/usr/bin/env bash
# 22-docker-status: `cdcctl status --json` gives one row per service (state, health,
# published ports, image, uptime) and exits 0 when all run and are healthy; exit 3 when a
# service is stopped (docker stop), unhealthy (its healthcheck starts failing) or missing
# (docker rm). Faults are made with the docker CLI; rows are parsed with python3.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
need_cmd python3
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-st-$$
docker_project "$P"
tmpdir T
M=$(fixture status.yaml "$T")
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT

# check_json EXPECT_OK 'svc=state/health/ok ...': validates $CC_OUT against the expected
# service rows (exactly these services, in any order) and the top-level "ok".
CHECK_PY=$(cat <<'PY'
import json, sys
want_ok = sys.argv[1] == "true"
want = {}
for item in sys.argv[2].split():
    name, spec = item.split("=")
    state, health, ok = spec.split("/")
    want[name] = (state, health, ok == "true")
port = sys.argv[3]
try:
    doc = json.loads(sys.stdin.read())
except ValueError as e:
    sys.exit("status --json is not JSON: %s" % e)
bad = []
rows = [r for r in doc.get("rows", []) if r.get("kind") == "service"]
names = sorted(r.get("name") for r in rows)
if names != sorted(want):
    bad.append("service rows %s, expected exactly one each for %s" % (names, sorted(want)))
for r in rows:
    n = r.get("name")
    if n not in want:
        continue
    state, health, ok = want[n]
    if r.get("state") != state: bad.append("%s: state %r, expected %r" % (n, r.get("state"), state))
    if health != "*" and r.get("health") != health:
        bad.append("%s: health %r, expected %r" % (n, r.get("health"), health))
    if r.get("ok") is not ok: bad.append("%s: ok %r, expected %r" % (n, r.get("ok"), ok))
    flat = json.dumps(r)
    if state != "missing" and r.get("image") != "cdcctl-test/busybox:1":
        bad.append("%s: \"image\" is not cdcctl-test/busybox:1: %s" % (n, flat))
    if state == "running" and not r.get("uptime"):
        bad.append("%s: no \"uptime\" in its row: %s" % (n, flat))
    if n == "web" and state == "running":
        ports = json.dumps(r.get("ports"))
        if "127.0.0.1:%s" % port not in ports or "8080" not in ports:
            bad.append("web: published port 127.0.0.1:%s -> 8080 not in its \"ports\": %s" % (port, flat))
if doc.get("ok") is not want_ok:
    bad.append("top-level ok %r, expected %r" % (doc.get("ok"), want_ok))
if bad:
    sys.exit("\n".join(bad))
print("ok: rows " + ", ".join("%s=%s/%s/%s" % (r["name"], r["state"], r["health"], r["ok"]) for r in rows))
PY
)
check_json() {
    printf '%s' "$CC_OUT" | python3 -c "$CHECK_PY" "$1" "$2" "$WEB_PORT" ||
        { show_cdcctl; fail "status --json rows (see above)"; }
}

run_cdcctl -f "$M" up
expect_rc "up" 0
WEB=$(cid "$P" web) DB=$(cid "$P" db) APP=$(cid "$P" app)

# --- all running and healthy: exit 0
run_cdcctl -f "$M" status --json
expect_rc "status --json, all running" 0
check_json true "web=running/healthy/true db=running/-/true app=running/-/true"
ST_MS=$CC_MS
run_cdcctl -f "$M" status
expect_rc "status (table), all running" 0
for s in web db app; do
    printf '%s\n' "$CC_OUT" | grep -qw "$s" || { show_cdcctl; fail "status table has no row for $s"; }
done
pass_msg "status table lists web, db, app"
echo "22-docker-status: status --json of 3 services took ${ST_MS} ms"

# --- a stopped service: exit 3
docker stop -t 1 "$DB" >/dev/null || fail "docker stop db"
run_cdcctl -f "$M" status --json
expect_rc "status --json after docker stop db" 3
check_json false "web=running/healthy/true db=exited/*/false app=running/-/true"
run_cdcctl -f "$M" status
expect_rc "status (table) after docker stop db" 3
run_cdcctl -f "$M" up
expect_rc "up starts db again" 0
run_cdcctl -f "$M" status --json
expect_rc "status --json after up" 0
check_json true "web=running/healthy/true db=running/-/true app=running/-/true"

# --- an unhealthy service: exit 3
docker exec "$WEB" rm /tmp/healthy || fail "docker exec rm /tmp/healthy"
wait_health "$WEB" unhealthy 20 || fail "web did not become unhealthy within 20 s"
run_cdcctl -f "$M" status --json
expect_rc "status --json with web unhealthy" 3
check_json false "web=running/unhealthy/false db=running/-/true app=running/-/true"
docker exec "$WEB" touch /tmp/healthy
wait_health "$WEB" healthy 20 || fail "web did not become healthy again within 20 s"
run_cdcctl -f "$M" status --json
expect_rc "status --json with web healthy again" 0

# --- a missing container: exit 3
docker rm -f "$APP" >/dev/null || fail "docker rm -f app"
run_cdcctl -f "$M" status --json
expect_rc "status --json with app's container removed" 3
check_json false "web=running/healthy/true db=running/-/true app=missing/*/false"
