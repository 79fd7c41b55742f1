# Sourced by integration tests after tests/lib/common.sh. Runs Debian's Prometheus
# (/usr/bin/prometheus) on a free loopback port with a temporary storage directory,
# stopped and removed when the test exits. Skips loudly when Prometheus is absent.
#
#   prom_start CONFIG     start with that config file (on $PROM_PORT when set, else a
#                         free port); sets PROM_URL, PROM_PID, PROM_LOG
#   prom_query EXPR [T]   GET /api/v1/query (instant, at unix time T or now); prints the JSON
#   prom_wait_target JOB SECONDS   wait until every target of JOB is up
#   prom_scrape_config TEMPLATE OUT INTERVAL RULES_DIR SED_EXPR...
#                         copy a shipped prometheus.yml with a shorter scrape interval,
#                         the rules directory replaced, and targets rewritten by sed

prom_start() {
    local cfg=$1
    command -v prometheus >/dev/null 2>&1 ||
        skip "prometheus not installed (Debian package 'prometheus'; make test installs it)"
    _prom_dir=$(mktemp -d /tmp/cdcctl-prom.XXXXXX)
    on_exit "rm -rf '$_prom_dir'"
    local port=${PROM_PORT:-}
    [ -n "$port" ] || port=$(free_port)
    PROM_URL=http://127.0.0.1:$port
    PROM_LOG=$_prom_dir/prometheus.log
    prometheus --config.file="$cfg" --storage.tsdb.path="$_prom_dir/data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
        --log.level=info >"$PROM_LOG" 2>&1 &
    PROM_PID=$!
    on_exit "_prom_stop $PROM_PID"
    if ! wait_for 60 curl -fsS "$PROM_URL/-/ready"; then
        tail -n 30 "$PROM_LOG" >&2
        fail "prometheus did not become ready on $PROM_URL"
    fi
}

_prom_stop() {
    local pid=$1
    kill "$pid" 2>/dev/null || return 0
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

prom_query() {
    local args=(--data-urlencode "query=$1")
    [ $# -ge 2 ] && args+=(--data-urlencode "time=$2")
    curl -fsS -G "$PROM_URL/api/v1/query" "${args[@]}"
}

# Every active target of job $1 is up (and there is at least one).
_prom_job_up() {
    curl -fsS "$PROM_URL/api/v1/targets?state=active" | python3 -c '
import json, sys
job = sys.argv[1]
ts = [t for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"].get("job") == job]
sys.exit(0 if ts and all(t["health"] == "up" for t in ts) else 1)' "$1"
}

prom_wait_target() {
    if ! wait_for "$2" _prom_job_up "$1"; then
        curl -sS "$PROM_URL/api/v1/targets?state=active" >&2 || true
        fail "prometheus target job=$1 not up within $2 s"
    fi
}

prom_scrape_config() {
    local template=$1 out=$2 interval=$3 rules=$4
    shift 4
    local sed_args=(-e "s/^\(  scrape_interval:\).*/\1 $interval/"
                    -e "s/^\(  evaluation_interval:\).*/\1 $interval/"
                    -e "s/^\(  scrape_timeout:\).*/\1 $interval/"
                    -e "s#/etc/prometheus/rules#$rules#")
    local e
    for e in "$@"; do sed_args+=(-e "$e"); done
    sed "${sed_args[@]}" "$template" >"$out"
}
