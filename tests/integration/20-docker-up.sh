#!/usr/bin/env bash
# 20-docker-up: `cdcctl up` of a multi-service manifest (tests/data/stack/stack.yaml) on a
# real Docker engine with local images: healthcheck, depends_on conditions, a file upload,
# a named volume and a published port. Every check is made with the docker CLI (and curl
# for the published port), never with cdcctl.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/docker.sh"
. "$CDCCTL_ROOT/tests/lib/images.sh"
need_cmd python3 curl
[ -x "$CDCCTL" ] || fail "$CDCCTL is not built (run make)"
ensure_dockerd
ensure_test_images

P=cdcctl-it-up-$$
docker_project "$P"
tmpdir T
M=$(fixture stack.yaml "$T")
echo "hello from $P" > "$T/index.html"
WEB_PORT=$(free_port)
export PROJECT=$P WEB_PORT
unset GREETING WEB_IMAGE ABOUT

run_cdcctl -f "$M" up
expect_rc "up of a 4-service stack" 0
COLD_MS=$CC_MS

# --- containers, names, labels
assert_eq "containers labelled io.cdcctl.project=$P" 4 "$(count_containers "$P")"
for s in web db init app; do
    id=$(cid "$P" "$s")
    [ "$(printf '%s\n' "$id" | grep -c .)" = 1 ] || fail "service $s: expected one container, got '$id'"
    assert_eq "$s container name" "/$P-$s-1" "$(docker inspect -f '{{.Name}}' "$id")"
    assert_eq "$s label io.cdcctl.project" "$P" "$(docker inspect -f '{{index .Config.Labels "io.cdcctl.project"}}' "$id")"
    assert_eq "$s label io.cdcctl.service" "$s" "$(docker inspect -f '{{index .Config.Labels "io.cdcctl.service"}}' "$id")"
    h=$(docker inspect -f '{{index .Config.Labels "io.cdcctl.config-hash"}}' "$id")
    [ -n "$h" ] || fail "$s: label io.cdcctl.config-hash is missing or empty"
    pass_msg "$s label io.cdcctl.config-hash = $h"
    nets=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$id")
    assert_eq "$s networks" "${P}_default" "$(echo $nets)"
done
assert_eq "web user label kept" stack \
    "$(docker inspect -f '{{index .Config.Labels "io.cdcctl.test.fixture"}}' "$(cid "$P" web)")"
WEB=$(cid "$P" web) DB=$(cid "$P" db) INIT=$(cid "$P" init) APP=$(cid "$P" app)

# --- network
assert_eq "networks labelled with the project" 1 "$(count_networks "$P")"
assert_eq "network name" "${P}_default" \
    "$(docker network ls --filter "label=io.cdcctl.project=$P" --format '{{.Name}}')"
# Service names resolve on the project network (app -> web by its service name).
assert_eq "app reaches web by service name" "hello from $P" \
    "$(docker exec "$APP" wget -q -O- http://web:8080/index.html)"

# --- states
assert_eq "web state" running "$(docker inspect -f '{{.State.Status}}' "$WEB")"
assert_eq "web health" healthy "$(docker inspect -f '{{.State.Health.Status}}' "$WEB")"
assert_eq "db state" running "$(docker inspect -f '{{.State.Status}}' "$DB")"
assert_eq "app state" running "$(docker inspect -f '{{.State.Status}}' "$APP")"
assert_eq "init state (one-shot)" "exited 0" "$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$INIT")"
assert_eq "init output" "init done" "$(docker logs "$INIT" 2>&1)"
run_cdcctl -f "$M" logs init
expect_rc "cdcctl logs init" 0
assert_eq "cdcctl logs init prints its output" "init done" "$CC_OUT"

# --- uploaded files (source: and content:, with mode)
assert_eq "uploaded /www/index.html via the published port" "hello from $P" \
    "$(curl -s --max-time 5 "http://127.0.0.1:$WEB_PORT/index.html")"
assert_eq "uploaded /www/index.html in the container" "hello from $P" "$(docker exec "$WEB" cat /www/index.html)"
assert_eq "uploaded /www/about.txt (content:)" "about this stack" "$(docker exec "$WEB" cat /www/about.txt)"
assert_eq "mode of /www/about.txt" 640 "$(docker exec "$WEB" stat -c %a /www/about.txt)"
assert_eq "mode of /www/index.html (default)" 644 "$(docker exec "$WEB" stat -c %a /www/index.html)"

# --- published port: 127.0.0.1 only
assert_eq "web port bindings" "[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"$WEB_PORT\"}]" \
    "$(docker inspect -f '{{json (index .HostConfig.PortBindings "8080/tcp")}}' "$WEB")"
assert_eq "docker port web" "127.0.0.1:$WEB_PORT" "$(docker port "$WEB" 8080/tcp)"
if command -v ss >/dev/null 2>&1; then
    listeners=$(ss -Hltn "sport = :$WEB_PORT" | awk '{print $4}' | sort -u | tr '\n' ' ')
    assert_eq "host listeners on $WEB_PORT" "127.0.0.1:$WEB_PORT " "$listeners"
fi

# --- named volume
assert_eq "volumes labelled with the project" 1 "$(count_volumes "$P")"
assert_eq "volume name" "${P}_data" "$(docker volume ls -q --filter "label=io.cdcctl.project=$P")"
assert_eq "db mounts the volume at /data" "volume ${P}_data /data" \
    "$(docker inspect -f '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}' "$DB")"
assert_eq "environment reached db (\$\$GREETING)" hello "$(docker exec "$DB" cat /data/hello)"

# --- dependency order (app: web healthy, init completed, db started)
app_start=$(started_at "$APP")
web_start=$(started_at "$WEB")
db_start=$(started_at "$DB")
init_end=$(finished_at "$INIT")
ms() { echo $(( ($1 - $2) / 1000000 )); }
[ "$app_start" -gt "$db_start" ] || fail "app started before db (service_started)"
pass_msg "app started $(ms "$app_start" "$db_start") ms after db"
[ "$app_start" -ge "$init_end" ] || fail "app started before init finished (service_completed_successfully)"
pass_msg "app started $(ms "$app_start" "$init_end") ms after init finished"
# web only becomes healthy once /tmp/ready exists, 1.5 s after it started.
[ "$app_start" -ge $(( web_start + 1500000000 )) ] ||
    fail "app started $(ms "$app_start" "$web_start") ms after web, before web could be healthy (service_healthy)"
pass_msg "app started $(ms "$app_start" "$web_start") ms after web (healthy after >= 1500 ms)"
echo "20-docker-up: cold up of 4 services took ${COLD_MS} ms"

# --- a dependency that fails: up exits 1 naming the service, its state and its log tail,
# and the dependent is not started.
PF=cdcctl-it-upfail-$$
docker_project "$PF"
# expect_failure FIXTURE FAILED DEPENDENT WORD...: up fails; the output names FAILED and
# every WORD; DEPENDENT never ran.
expect_failure() {
    local f=$1 failed=$2 dependent=$3 w both
    shift 3
    PROJECT=$PF run_cdcctl -f "$(fixture "$f" "$T")" up --timeout 60
    expect_rc "$f: up with a failing dependency" 1
    both="$CC_OUT
$CC_ERR"
    for w in "$failed" "$@"; do
        printf '%s\n' "$both" | grep -qF -- "$w" || { show_cdcctl; fail "$f: the failure report does not mention '$w'"; }
    done
    pass_msg "$f: reported: $(printf '%s\n' "$CC_ERR" | grep '^cdcctl: ' | head -1)"
    assert_eq "$f: $dependent was never started" "" \
        "$(docker ps -aq --filter "label=io.cdcctl.project=$PF" --filter "label=io.cdcctl.service=$dependent" \
             --filter status=running --filter status=exited)"
    docker_cleanup_project "$PF"
}
expect_failure up-unhealthy.yaml sick needs unhealthy sick-log-line-2
expect_failure up-exit.yaml migrate after 3 migrate-log-line

# --- an image that cannot be pulled: exit 1 naming the image, no container created
PROJECT=$PF run_cdcctl -f "$(fixture up-pull.yaml "$T")" up --timeout 60
expect_rc "up with an image that cannot be pulled" 1
printf '%s\n' "$CC_ERR" | grep '^cdcctl: ' | grep -qF "127.0.0.1:1/cdcctl-it/nope:1" ||
    { show_cdcctl; fail "the pull failure does not name the image"; }
pass_msg "pull failure reported: $(printf '%s\n' "$CC_ERR" | grep '^cdcctl: ' | head -1)"
assert_eq "no container created when an image is missing" 0 "$(count_containers "$PF")"
