#!/usr/bin/env bash
# Every PromQL expression of every provisioned dashboard parses and evaluates in a real
# Prometheus (Debian's) running the shipped monitoring/prometheus.yml and rules, and
# the "selected range" panels count exactly, on series whose values this test
# controls (a /metrics file served by tests/tools/fake_exporter.py in place of the
# consumer; 40-prometheus-scrape.sh does the same with the real `cdcctl consume`):
#   1. series born inside the range count in full (increase() would drop their first
#      sample and extrapolate);
#   2. a range starting after earlier changes counts only the changes inside it;
#   3. after a counter reset (consumer restart) the range counts the new process's
#      changes, never a negative number.
# It also checks that every alerting rule evaluates without error and that
# CdcDecodeErrors fires on decode errors.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/prometheus.sh"
need_cmd python3 curl
cd "$CDCCTL_ROOT"
CHECK="python3 tests/tools/check_dashboards.py"
DASHBOARDS=$(ls monitoring/grafana/dashboards/*.json)
tmp=$(mktemp -d /tmp/cdcctl-test.XXXXXX)
on_exit "rm -rf '$tmp'"

# ---- the fake consumer /metrics
M=$tmp/metrics.prom
write_metrics() { # lines of "name{labels} value" on stdin -> $M (atomic)
    { cat <<'EOF'
# HELP db_changes_total Rows changed, by database, table and operation.
# TYPE db_changes_total counter
# HELP cdc_messages_total Kafka messages consumed.
# TYPE cdc_messages_total counter
# HELP cdc_decode_errors_total Messages that could not be decoded.
# TYPE cdc_decode_errors_total counter
# HELP cdc_consumer_lag Messages not yet consumed.
# TYPE cdc_consumer_lag gauge
# HELP cdc_watermark_timestamp_seconds Newest TiCDC watermark.
# TYPE cdc_watermark_timestamp_seconds gauge
EOF
      cat; } | python3 -c '
import sys, collections
# Regroup samples under their family (the format wants one group per metric).
lines = sys.stdin.read().splitlines()
meta = [l for l in lines if l.startswith("#")]
samples = [l for l in lines if l and not l.startswith("#")]
out = []
for m in meta:
    out.append(m)
    if m.startswith("# TYPE "):
        name = m.split()[2]
        out += [s for s in samples if s.split("{")[0].split(" ")[0] == name]
print("\n".join(out))' >"$M.tmp"
    mv "$M.tmp" "$M"
}
: | write_metrics
python3 tests/tools/fake_exporter.py "$M" >"$tmp/exporter.out" 2>&1 &
EXPORTER_PID=$!
on_exit "kill $EXPORTER_PID 2>/dev/null"
wait_for 10 grep -q PORT= "$tmp/exporter.out" || fail "fake exporter did not start"
EXPORTER=127.0.0.1:$(sed -n 's/^PORT=//p' "$tmp/exporter.out")

# ---- Prometheus with the shipped configuration: the consumer target rewritten to the
# fake exporter, its own job pointed at itself, 1 s intervals, rules from
# monitoring/rules. The other jobs (tidb, pd, tikv, ticdc) stay as shipped and are
# simply down here.
PROM_PORT=$(free_port)
prom_scrape_config monitoring/prometheus.yml "$tmp/prometheus.yml" 1s "$PWD/monitoring/rules" \
    "s/\"consumer:8000\"/\"$EXPORTER\"/" "s/\"localhost:9090\"/\"127.0.0.1:$PROM_PORT\"/"
grep -q "$EXPORTER" "$tmp/prometheus.yml" || fail "consumer target not found in prometheus.yml"
prom_start "$tmp/prometheus.yml"
prom_wait_target cdc-consumer 30

value_of() { # EXPR -> the single value now, or empty
    prom_query "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r)==1 else "")'
}
wait_value() { # EXPR VALUE: until Prometheus has scraped it
    local i
    for i in $(seq 1 150); do
        [ "$(value_of "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    fail "prometheus never returned $2 for $1 (last: '$(value_of "$1")')"
}
expect() { # FILE: write the expectations JSON from stdin
    cat >"$1"
}

# ---- Phase 1: the first changes ever (every series is born now)
write_metrics <<'EOF'
db_changes_total{database="shop",table="orders",op="insert"} 5
db_changes_total{database="shop",table="orders",op="update"} 3
db_changes_total{database="shop",table="customers",op="insert"} 2
db_changes_total{database="shop",table="",op="ddl"} 1
cdc_messages_total{topic="shop-db-data-changes"} 14
cdc_decode_errors_total{topic="shop-db-data-changes"} 2
cdc_consumer_lag{topic="shop-db-data-changes",partition="0"} 0
cdc_consumer_lag{topic="shop-db-data-changes",partition="1"} 0
cdc_watermark_timestamp_seconds 1700000000
EOF
wait_value 'sum(db_changes_total)' 11
wait_value 'sum(cdc_decode_errors_total)' 2
expect "$tmp/expect1.json" <<'EOF'
{"Share of insert / update / delete (selected range)":
   {"refId": "A", "labels": ["op"], "values": {"insert": 7, "update": 3, "ddl": 1}},
 "Changes by table and operation (selected range)":
   {"refId": "A", "labels": ["database", "table", "op"],
    "values": {"shop,orders,insert": 5, "shop,orders,update": 3, "shop,customers,insert": 2,
               "shop,,ddl": 1}},
 "Decode errors (selected range)": {"refId": "A", "labels": [], "values": {"": 2}},
 "Consumer lag (messages)":
   {"refId": "A", "labels": ["partition"], "values": {"0": 0, "1": 0}}}
EOF
# shellcheck disable=SC2086
$CHECK queries --prometheus "$PROM_URL" --range 10m --interval 1s --rate-interval 4s \
    --expect "$tmp/expect1.json" $DASHBOARDS || fail "phase 1: dashboard queries (above)"

# ---- Phase 2: a range that starts after phase 1 counts only what came later
sleep 3
t1=$(date +%s)
sleep 1
write_metrics <<'EOF'
db_changes_total{database="shop",table="orders",op="insert"} 9
db_changes_total{database="shop",table="orders",op="update"} 3
db_changes_total{database="shop",table="customers",op="insert"} 2
db_changes_total{database="shop",table="customers",op="delete"} 2
db_changes_total{database="shop",table="",op="ddl"} 1
cdc_messages_total{topic="shop-db-data-changes"} 20
cdc_decode_errors_total{topic="shop-db-data-changes"} 2
EOF
wait_value 'sum(db_changes_total)' 17
sleep 1
t2=$(date +%s)
expect "$tmp/expect2.json" <<'EOF'
{"Share of insert / update / delete (selected range)":
   {"refId": "A", "labels": ["op"], "values": {"insert": 4, "update": 0, "delete": 2, "ddl": 0}},
 "Changes by table and operation (selected range)":
   {"refId": "A", "labels": ["database", "table", "op"],
    "values": {"shop,orders,insert": 4, "shop,orders,update": 0, "shop,customers,insert": 0,
               "shop,customers,delete": 2, "shop,,ddl": 0}},
 "Decode errors (selected range)": {"refId": "A", "labels": [], "values": {"": 0}}}
EOF
# shellcheck disable=SC2086
$CHECK queries --prometheus "$PROM_URL" --time "$t2" --range "$((t2 - t1))s" --interval 1s \
    --rate-interval 4s --expect "$tmp/expect2.json" $DASHBOARDS ||
    fail "phase 2: range after earlier changes (above)"

# ---- Phase 3: the consumer restarts (counters start again from 0; series it has not
# touched since are gone, but were unchanged inside the range, so they count 0)
sleep 2
t3=$(date +%s)
sleep 1
write_metrics <<'EOF'
db_changes_total{database="shop",table="orders",op="insert"} 1
cdc_messages_total{topic="shop-db-data-changes"} 1
EOF
wait_value 'sum(db_changes_total)' 1
sleep 1
t4=$(date +%s)
expect "$tmp/expect3.json" <<'EOF'
{"Share of insert / update / delete (selected range)":
   {"refId": "A", "labels": ["op"], "values": {"insert": 1, "update": 0, "delete": 0, "ddl": 0}}}
EOF
# shellcheck disable=SC2086
$CHECK queries --prometheus "$PROM_URL" --time "$t4" --range "$((t4 - t3))s" --interval 1s \
    --rate-interval 4s --expect "$tmp/expect3.json" $DASHBOARDS ||
    fail "phase 3: counter reset (above)"

# ---- Rules: all evaluate; CdcDecodeErrors fired on phase 1's decode errors
rules_ok() {
    curl -fsS "$PROM_URL/api/v1/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"]
if not rules or bad:
    print("rules not healthy:", bad or "none loaded", file=sys.stderr); sys.exit(1)
print(f"ok: {len(rules)} rules loaded and evaluated without error")'
}
wait_for 20 rules_ok || { rules_ok; fail "alerting rules do not evaluate cleanly"; }
rules_ok
curl -fsS "$PROM_URL/api/v1/query" --data-urlencode 'query=ALERTS{alertname="CdcDecodeErrors"}' |
    grep -q '"alertname":"CdcDecodeErrors"' || fail "CdcDecodeErrors did not fire on decode errors"
pass_msg "CdcDecodeErrors fired"
echo "dashboard queries: all checks passed"
