#!/usr/bin/env bash
# A real Prometheus (Debian's) running the shipped monitoring/prometheus.yml and rules
# scrapes a running `cdcctl consume` fed by librdkafka's mock cluster with a known set
# of canal-json messages; then every PromQL expression of every provisioned dashboard
# is evaluated through Prometheus's HTTP API: each must parse, and the consumer panels
# must return exactly the counts fed in. A second batch checks that a range starting
# after the first batch counts only the second, and that the rate panel sees it.
# Finally `cdcctl status` reports Prometheus's target health and Grafana's health.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/prometheus.sh"
need_cmd python3 curl kcat
cd "$CDCCTL_ROOT"
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
[ -x "$HELPERS/mockkafka" ] || fail "$HELPERS/mockkafka not built"
CHECK="python3 tests/tools/check_dashboards.py"
DASHBOARDS=$(ls monitoring/grafana/dashboards/*.json)
TOPIC=shop-db-data-changes
tmp=$(mktemp -d /tmp/cdcctl-test.XXXXXX)
on_exit "rm -rf '$tmp'"
WORK=$tmp
source "$CDCCTL_ROOT/tests/lib/consume.sh"

# ---- Kafka: the mock cluster (tests/lib/consume.sh; stopped at exit)
mk_start -t "$TOPIC:3"

# A known set of canal-json messages (see tests/tools/gen_canal.py for its contents).
gen_batch() {
    python3 tests/tools/gen_canal.py "$tmp" "$1" || fail "gen_canal.py"
}
produce_batch() {
    local p
    for p in 0 1 2; do
        kcat -P -b "$BROKERS" -t "$TOPIC" -p "$p" <"$tmp/p$p.batch$1" 2>>"$tmp/kcat.err" ||
            { cat "$tmp/kcat.err" >&2; fail "kcat could not produce batch $1 to partition $p"; }
    done
}

# ---- the consumer, metrics on a free port (it prints the address it bound)
"$CDCCTL" consume --brokers "$BROKERS" --topic "$TOPIC" --group monitoring-test \
    --metrics-addr 127.0.0.1:0 --no-es -X session.timeout.ms=6000 \
    -X statistics.interval.ms=1000 >"$tmp/consume.out" 2>"$tmp/consume.err" &
CONSUME_PID=$!
on_exit "stop_pid $CONSUME_PID"
wait_for 20 grep -q 'metrics on http://' "$tmp/consume.err" ||
    { cat "$tmp/consume.err" >&2; fail "cdcctl consume did not report its metrics address"; }
METRICS=$(sed -n 's#.*metrics on http://\([^/]*\)/metrics.*#\1#p' "$tmp/consume.err" | head -n1)
[ -n "$METRICS" ] || fail "no metrics address in: $(cat "$tmp/consume.err")"

# ---- Prometheus: the shipped configuration, consumer target = this consumer, its
# own job pointed at itself, 1 s intervals; tidb/pd/tikv/ticdc stay as shipped (down).
PROM_PORT=$(free_port)
prom_scrape_config monitoring/prometheus.yml "$tmp/prometheus.yml" 1s "$PWD/monitoring/rules" \
    "s/\"consumer:8000\"/\"$METRICS\"/" "s/\"localhost:9090\"/\"127.0.0.1:$PROM_PORT\"/"
grep -q "\"$METRICS\"" "$tmp/prometheus.yml" || fail "consumer target not found in prometheus.yml"
prom_start "$tmp/prometheus.yml"
prom_wait_target cdc-consumer 30
prom_wait_target prometheus 30

value_of() {
    prom_query "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r)==1 else "")'
}
wait_value() { # EXPR VALUE [SECONDS]
    local end=$(($(date +%s) + ${3:-60}))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(value_of "$1")" = "$2" ] && { pass_msg "$1 = $2"; return 0; }
        sleep 0.3
    done
    tail -n 20 "$tmp/consume.err" >&2
    fail "prometheus never returned $2 for $1 (last: '$(value_of "$1")')"
}

# ---- batch 1
gen_batch 1
produce_batch 1
wait_value 'sum(db_changes_total)' 14
wait_value 'sum(cdc_decode_errors_total)' 2
wait_value 'sum(cdc_messages_total)' 19
wait_value 'count(cdc_consumer_lag == 0)' 3 30
wait_value 'sum(cdc_end_to_end_delay_seconds_count)' 14
wait_value 'count(cdc_watermark_timestamp_seconds > 1600000000)' 1
lines=$(grep -c '^CDC_EVENT ' "$tmp/consume.out" || true)
assert_eq "CDC_EVENT lines" 14 "$lines"

cat >"$tmp/expect1.json" <<'EOF'
{"Share of insert / update / delete (selected range)":
   {"refId": "A", "labels": ["op"], "values": {"insert": 8, "update": 3, "delete": 1, "ddl": 2}},
 "Changes by table and operation (selected range)":
   {"refId": "A", "labels": ["database", "table", "op"],
    "values": {"shop,orders,insert": 5, "shop,orders,update": 2, "shop,orders,delete": 1,
               "shop,orders,ddl": 1, "shop,customers,insert": 3, "shop,customers,update": 1,
               "shop,customers,ddl": 1}},
 "Decode errors (selected range)": {"refId": "A", "labels": [], "values": {"": 2}},
 "Consumer lag (messages)":
   {"refId": "A", "labels": ["topic", "partition"],
    "values": {"shop-db-data-changes,0": 0, "shop-db-data-changes,1": 0,
               "shop-db-data-changes,2": 0}}}
EOF
# shellcheck disable=SC2086
$CHECK queries --prometheus "$PROM_URL" --range 1h --interval 1s --rate-interval 4s \
    --expect "$tmp/expect1.json" $DASHBOARDS || fail "batch 1: dashboard queries (above)"

# ---- batch 2: 4 more inserts into orders, after every series exists
sleep 3
t1=$(date +%s)
sleep 1
gen_batch 2
produce_batch 2
wait_value 'sum(db_changes_total)' 18
sleep 2
t2=$(date +%s)
cat >"$tmp/expect2.json" <<'EOF'
{"Share of insert / update / delete (selected range)":
   {"refId": "A", "labels": ["op"], "values": {"insert": 4, "update": 0, "delete": 0, "ddl": 0}},
 "Decode errors (selected range)": {"refId": "A", "labels": [], "values": {"": 0}}}
EOF
# shellcheck disable=SC2086
$CHECK queries --prometheus "$PROM_URL" --time "$t2" --range "$((t2 - t1))s" --interval 1s \
    --rate-interval 4s --expect "$tmp/expect2.json" $DASHBOARDS ||
    fail "batch 2: range after batch 1 (above)"

# The rate panel: one series per (database, table, op) fed in, and a non-zero rate for
# shop.orders inserts while batch 2 arrived.
expr=$($CHECK exprs $DASHBOARDS | awk -F'\t' '$1=="Changes per second by table and operation" {print $3}')
[ -n "$expr" ] || fail "no 'Changes per second by table and operation' panel"
expr=${expr//\$__rate_interval/4s}
curl -fsS -G "$PROM_URL/api/v1/query_range" --data-urlencode "query=$expr" \
    --data-urlencode "start=$((t1 - 60))" --data-urlencode "end=$((t2 + 2))" \
    --data-urlencode "step=1" >"$tmp/rate.json" || fail "rate panel range query"
python3 - "$tmp/rate.json" <<'EOF' || fail "rate panel"
import json, sys
res = json.load(open(sys.argv[1]))["data"]["result"]
series = {(s["metric"]["database"], s["metric"]["table"], s["metric"]["op"]): max(float(v[1]) for v in s["values"]) for s in res}
want = {("shop", "orders", o) for o in ("insert", "update", "delete", "ddl")} | \
       {("shop", "customers", o) for o in ("insert", "update", "ddl")}
assert set(series) == want, f"series {sorted(series)} != {sorted(want)}"
assert series[("shop", "orders", "insert")] > 0, "no rate seen for shop.orders inserts"
print("ok: rate panel has the 7 fed (database, table, op) series; orders inserts peaked at %.2f/s"
      % series[("shop", "orders", "insert")])
EOF

# ---- cdcctl status: Prometheus target health and Grafana health (a stand-in answering
# GET /api/health like Grafana 11)
cat >"$tmp/grafana.py" <<'EOF'
import http.server, json, signal, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/api/health":
            self.send_error(404); return
        body = json.dumps({"commit": "test", "database": "ok", "version": "11.3.0"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print(f"PORT={s.server_address[1]}", flush=True)
s.serve_forever()
EOF
python3 "$tmp/grafana.py" >"$tmp/grafana.out" 2>&1 &
GRAFANA_PID=$!
on_exit "stop_pid $GRAFANA_PID"
wait_for 10 grep -q PORT= "$tmp/grafana.out" || fail "grafana stand-in did not start"
GRAFANA=127.0.0.1:$(sed -n 's/^PORT=//p' "$tmp/grafana.out")
cat >"$tmp/status.yaml" <<EOF
project: montest
services:
  prometheus:
    external: ${PROM_URL#http://}
  grafana:
    external: $GRAFANA
EOF
rc=0
"$CDCCTL" -f "$tmp/status.yaml" status --json >"$tmp/status.json" 2>"$tmp/status.err" || rc=$?
# tidb, pd, tikv and ticdc are shipped targets that do not exist here: not healthy, exit 3.
assert_eq "cdcctl status exit status" 3 "$rc"
python3 - "$tmp/status.json" <<'EOF' || { cat "$tmp/status.json" "$tmp/status.err" >&2; fail "status rows"; }
import json, sys
rows = {(r["kind"], r["name"]): r for r in json.load(open(sys.argv[1]))["rows"]}
p = rows[("prometheus", "prometheus")]
assert p["targets_total"] == 6 and p["targets_up"] == 2, p
down = sorted(d["job"] for d in p["down"])
assert down == ["pd", "ticdc", "tidb", "tikv"], down
assert p["detail"].startswith("2/6 targets up; down: "), p["detail"]
assert p["health"] == "unhealthy" and p["ok"] is False, p
g = rows[("grafana", "grafana")]
assert g["detail"] == "database ok, version 11.3.0" and g["ok"] is True, g
print("ok: status:", p["detail"][:80], "... |", g["detail"])
EOF
"$CDCCTL" -f "$tmp/status.yaml" status >"$tmp/status.txt" 2>&1 || true
grep -E '^prometheus +prometheus +running +unhealthy +2/6 targets up; down: ' "$tmp/status.txt" >/dev/null ||
    { cat "$tmp/status.txt" >&2; fail "status text row for prometheus"; }
grep -E '^grafana +grafana +running +healthy +database ok, version 11.3.0$' "$tmp/status.txt" >/dev/null ||
    { cat "$tmp/status.txt" >&2; fail "status text row for grafana"; }
pass_msg "cdcctl status shows Prometheus targets and Grafana health"

# ---- the consumer stops cleanly on SIGTERM
kill -TERM "$CONSUME_PID"
rc=0
wait "$CONSUME_PID" || rc=$?
assert_eq "cdcctl consume exit status after SIGTERM" 0 "$rc"
echo "prometheus scrape: all checks passed"
