#!/usr/bin/env bash
# cdcctl consume against librdkafka's mock cluster (real Kafka protocol over
# loopback TCP): the canal-json corpus (valid + malformed) and a generated change
# stream; exact db_changes_total per (database, table, op) on /metrics (scraped
# over HTTP and by a real Prometheus), messages, decode errors == malformed count,
# one CDC_EVENT line per row with the right fields (checked against Python's own
# reading of the messages), the DDL type in the line, the watermark gauge, the
# consumer going on after malformed messages, --log-file reopened on SIGHUP after
# mv, SIGTERM exiting 0 after committing (a second run of the group reads nothing).
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
. "$CDCCTL_ROOT/tests/lib/prometheus.sh"
need_helpers
CHECK="python3 $CDCCTL_ROOT/tests/tools/consume_check.py"
CORPUS=$CDCCTL_ROOT/tests/data/canal
ES_MS=1640007049196 # the corpus' commit time; watermarks all say this too
X=(-X session.timeout.ms=6000)

mk_start -t cdc:4

# 1. The corpus (every file one message) and a generated stream, interleaved over
#    4 partitions.
"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 4 --es "$ES_MS" --report "$WORK/r1" \
    --gen insert=300,update=120,delete=60,ddl=16,watermark=8,bad=10 \
    "$CORPUS"/valid/* "$CORPUS"/malformed/* >"$WORK/p1" || fail "canal_produce"
eval "$($CHECK counts "$WORK/r1" | sed 's/\([a-z_]*\)=/E_\1=/g')"
nmal=$(ls "$CORPUS"/malformed | wc -l)
assert_eq "expected undecodable messages (malformed files + generated bad)" "$((nmal + 10))" "$E_bad"

consumer_start c1 --brokers "$BROKERS" --topic cdc --group g50 --metrics-addr 127.0.0.1:0 --no-es \
    --log-file "$WORK/events.log" "${X[@]}"
wait_lines "$WORK/c1.out" "$E_lines" 60
$CHECK lines cdc "$WORK/r1" -- "$WORK/c1.out" || fail "CDC_EVENT lines"

# /metrics over HTTP: the exact Content-Type, the exact counts.
ctype=$(curl -fsS -o /dev/null -w '%{content_type}' "$MURL_c1")
assert_eq "Content-Type of /metrics" "text/plain; version=0.0.4; charset=utf-8" "$ctype"
$CHECK metrics cdc "$WORK/r1" -- "$MURL_c1" || fail "metrics"
assert_eq "cdc_watermark_timestamp_seconds" "1640007049.196" \
    "$(metric "$MURL_c1" cdc_watermark_timestamp_seconds)"
assert_eq "orders inserts (generated)" \
    "$(sed -n 's/^count database=shop table=orders op=insert rows=//p' "$WORK/p1")" \
    "$(metric "$MURL_c1" 'db_changes_total{database="shop",table="orders",op="insert"}')"
assert_eq "database-level DDL (table \"\")" "1" \
    "$(metric "$MURL_c1" 'db_changes_total{database="test",table="",op="ddl"}')"

# Consumer lag per partition (librdkafka statistics, every 5 s): 0 once caught up.
lag_zero() {
    local p
    for p in 0 1 2 3; do
        [ "$(metric "$MURL_c1" "cdc_consumer_lag{topic=\"cdc\",partition=\"$p\"}")" = 0 ] || return 1
    done
}
wait_for 20 lag_zero || fail "cdc_consumer_lag not 0 for all partitions: $(curl -fsS "$MURL_c1" | grep '^cdc_consumer_lag')"
pass_msg "cdc_consumer_lag is 0 for partitions 0-3"

# Each malformed message logged once with its offset; the DDL type in the line.
nskip=$(grep -c 'skipping undecodable message topic=cdc partition=[0-9]* offset=[0-9]*: ' "$WORK/c1.err")
assert_eq "one 'skipping undecodable message' line per bad message" "$E_bad" "$nskip"
assert_eq "distinct offsets in the skip lines" "$E_bad" \
    "$(grep -o 'partition=[0-9]* offset=[0-9]*' "$WORK/c1.err" | sort -u | wc -l)"
grep -q '^CDC_EVENT topic=cdc partition=[0-9]* offset=[0-9]* database=shop table=orders op=ddl type=CREATE data=null sql="CREATE TABLE `orders` (`id` INT PRIMARY KEY)"$' \
    "$WORK/c1.out" || fail "CREATE TABLE line not as documented"
grep -q ' database=test table="caf\\u00e9" op=insert type=INSERT data=' "$WORK/c1.out" ||
    fail "a non-ASCII table name is not JSON-quoted"
pass_msg "DDL type and quoted names in the lines"

# --log-file holds the same lines as stdout.
cmp -s "$WORK/c1.out" "$WORK/events.log" || fail "--log-file differs from stdout"
pass_msg "--log-file == stdout"

# 2. A real Prometheus scrapes the same endpoint and gets the same numbers.
mport=${MURL_c1#http://127.0.0.1:}
mport=${mport%%/*}
cat >"$WORK/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: consumer
    static_configs:
      - targets: ["127.0.0.1:$mport"]
EOF
prom_start "$WORK/prom.yml"
prom_wait_target consumer 30
promval() {
    prom_query "$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
want_orders=$(metric "$MURL_c1" 'db_changes_total{database="shop",table="orders",op="insert"}')
wait_for 20 test -n "$(promval 'db_changes_total{table="orders",op="insert"}')" || fail "prometheus has no db_changes_total"
assert_eq "prometheus: orders inserts" "$want_orders" "$(promval 'db_changes_total{table="orders",op="insert"}')"
assert_eq "prometheus: sum of all changes" "$E_lines" "$(promval 'sum(db_changes_total)')"
assert_eq "prometheus: decode errors" "$E_bad" "$(promval 'sum(cdc_decode_errors_total)')"
assert_eq "prometheus: watermark" "1640007049.196" "$(promval 'cdc_watermark_timestamp_seconds')"

# 3. logrotate: mv the log, SIGHUP, new lines go to a new file at the old path.
mv "$WORK/events.log" "$WORK/events.log.1"
kill -HUP "$PID_c1"
wait_for 10 grep -q 'reopened log file' "$WORK/c1.err" || fail "no reopen after SIGHUP"
"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 4 --gen insert=50 --report "$WORK/r2" >/dev/null ||
    fail "canal_produce"
wait_lines "$WORK/c1.out" "$((E_lines + 50))" 30
wait_lines "$WORK/events.log" 50 10
assert_eq "rotated file keeps the old lines" "$E_lines" "$(count_lines "$WORK/events.log.1")"
$CHECK lines cdc "$WORK/r2" -- "$WORK/events.log" || fail "lines in the reopened log"
$CHECK lines cdc "$WORK/r1" "$WORK/r2" -- "$WORK/c1.out" || fail "stdout after the rotation"

# 4. SIGTERM: exit 0 after flushing and committing; the group then has nothing new.
consumer_stop c1 TERM
assert_eq "exit status after SIGTERM" "0" "$RC"
grep -q "stopped: $((E_messages + 50)) messages" "$WORK/c1.err" || fail "no stop summary: $(tail -3 "$WORK/c1.err")"
"$CDCCTL" consume --brokers "$BROKERS" --topic cdc --group g50 --metrics-addr 127.0.0.1:0 --no-es \
    --exit-at-eof "${X[@]}" >"$WORK/c2.out" 2>"$WORK/c2.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
wait_for 60 sh -c "! kill -0 $pid 2>/dev/null" || fail "second run did not stop at end of partitions"
rc=0; wait "$pid" || rc=$?
assert_eq "second run exit status" "0" "$rc"
assert_eq "second run of the group reads nothing new" "0" "$(count_lines "$WORK/c2.out")"
