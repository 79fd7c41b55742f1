#!/usr/bin/env bash
# The changefeed step of `cdcctl up` and its status row, against the TiCDC fake
# (tests/fakes/ticdc_fake.py: TiCDC's routes, validation, status codes and error
# bodies): wait through 503s, create once with the right sink URI and rules,
# leave a matching feed alone, resume stopped/warning/failed feeds with {},
# pause-update-resume on drift with a complete replica config, report TiCDC's
# error_code and error_msg, and the v1 fallback. No Docker daemon is involved.
source "$(dirname "$0")/../lib/common.sh"
need_cmd python3 curl
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
T=$(mktmp)
export CDCCTL_STATE_DIR=$T/state DOCKER_HOST=unix:///nonexistent

fake_start() { # fake_start NAME [fake options]: sets FAKE_PORT
    local name=$1 pid
    shift
    python3 "$CDCCTL_ROOT/tests/fakes/ticdc_fake.py" 0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pid=$!
    on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
    wait_for 10 grep -q LISTENING "$T/$name.out" || fail "fake $name did not start: $(cat "$T/$name.err")"
    FAKE_PORT=$(awk '/LISTENING/ {print $2}' "$T/$name.out")
}
ctl() { curl -sf -X "$1" "http://127.0.0.1:$FAKE_PORT/_fake/$2" ${3:+-H 'Content-Type: application/json' -d "$3"} >/dev/null ||
    fail "fake control $2 failed"; }
# check PYTHON-EXPR...: evaluates expressions over the fake's state
# (s = state, feed = s["feeds"]["shop-cdc"], muts = mutating requests) and fails on the first false one
check() {
    curl -sf "http://127.0.0.1:$FAKE_PORT/_fake/state" >"$T/state.json" || fail "cannot read fake state"
    python3 - "$T/state.json" "$@" <<'EOF' || fail "fake state check failed (state in $T/state.json)"
import json, sys
s = json.load(open(sys.argv[1]))
feed = s["feeds"].get("shop-cdc")
muts = [(r["method"], r["path"], r["body"]) for r in s["requests"] if r["method"] != "GET"]
for expr in sys.argv[2:]:
    if not eval(expr):
        print("false: %s\n  feed=%s\n  mutations=%s" % (expr, json.dumps(feed), json.dumps(muts)), file=sys.stderr)
        sys.exit(1)
    print("ok: " + expr)
EOF
}
manifest() { # manifest SINK_URI RULES_YAML
    cat >"$T/cdcctl.yaml" <<EOF
project: bt31
services:
  ticdc:
    external: 127.0.0.1:$FAKE_PORT
ticdc:
  changefeed: shop-cdc
  sink_uri: "$1"
  filter_rules: $2
  config: changefeed.json
EOF
}
up() { "$CDCCTL" -f "$T/cdcctl.yaml" up "$@" >"$T/out" 2>"$T/err"; }
status() { "$CDCCTL" -f "$T/cdcctl.yaml" status "$@" >"$T/out" 2>"$T/err"; }
cp "$CDCCTL_ROOT/config/changefeed.json" "$T/changefeed.json"
SINK1="kafka://kafka:29092/shop-db-data-changes?protocol=canal-json&partition-num=1&replication-factor=1&enable-tidb-extension=true"
SINK3="kafka://kafka:29092/shop-db-data-changes?protocol=canal-json&partition-num=3&replication-factor=1&enable-tidb-extension=true"

# --- not ready (503) at first, then create ---
fake_start v2 --ready-after 3
manifest "$SINK1" '["shop.*"]'
up --timeout 60 || { cat "$T/err" >&2; fail "first up failed"; }
grep -qF "ticdc: waiting for TiCDC at 127.0.0.1:$FAKE_PORT (CDC:ErrServerIsNotReady: [CDC:ErrServerIsNotReady]cdc server is not ready (HTTP 503))" "$T/err" ||
    fail "no 503 waiting message: $(cat "$T/err")"
grep -qF "ticdc: created changefeed shop-cdc (sink $SINK1, filter rules [\"shop.*\"])" "$T/err" ||
    fail "no created message: $(cat "$T/err")"
check 'len([m for m in muts if m[:2] == ("POST", "/api/v2/changefeeds")]) == 1' \
    'muts[0][2]["changefeed_id"] == "shop-cdc"' \
    "muts[0][2][\"sink_uri\"] == \"$SINK1\"" \
    'muts[0][2]["replica_config"]["filter"]["rules"] == ["shop.*"]' \
    'muts[0][2]["replica_config"]["check_gc_safe_point"] is True' \
    'len(muts) == 1' 'feed["state"] == "normal"' \
    'feed["config"]["filter"]["rules"] == ["shop.*"]' 'feed["config"]["memory_quota"] == 1073741824'

# --- the fake refuses what TiCDC refuses (so the successes above mean something) ---
api() { # api METHOD PATH [BODY] -> "STATUS ERROR_CODE"
    curl -s -o "$T/api.json" -w '%{http_code}' -X "$1" "http://127.0.0.1:$FAKE_PORT$2" \
        ${3+-H 'Content-Type: application/json' -d "$3"} >"$T/api.code"
    echo "$(cat "$T/api.code") $(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("error_code",""))
except Exception: print("")' "$T/api.json")"
}
assert_eq "resume without a body" "400 CDC:ErrAPIInvalidParam" "$(api POST /api/v2/changefeeds/shop-cdc/resume)"
assert_eq "create an existing id" "500 CDC:ErrChangeFeedAlreadyExists" \
    "$(api POST /api/v2/changefeeds "{\"changefeed_id\":\"shop-cdc\",\"sink_uri\":\"$SINK1\"}")"
assert_eq "create without sink_uri" "400 CDC:ErrSinkURIInvalid" "$(api POST /api/v2/changefeeds '{"changefeed_id":"other"}')"
assert_eq "create with a bad id" "400 CDC:ErrAPIInvalidParam" \
    "$(api POST /api/v2/changefeeds "{\"changefeed_id\":\"bad_id\",\"sink_uri\":\"$SINK1\"}")"
assert_eq "unknown replica_config field" "400 CDC:ErrAPIInvalidParam" \
    "$(api POST /api/v2/changefeeds "{\"changefeed_id\":\"other\",\"sink_uri\":\"$SINK1\",\"replica_config\":{\"filter_rules\":[]}}")"
assert_eq "get an unknown id" "400 CDC:ErrChangeFeedNotExists" "$(api GET /api/v2/changefeeds/nope)"
assert_eq "pause an unknown id" "400 CDC:ErrChangeFeedNotExists" "$(api POST /api/v2/changefeeds/nope/pause)"
assert_eq "update a running feed" "400 CDC:ErrChangefeedUpdateRefused" "$(api PUT /api/v2/changefeeds/shop-cdc '{}')"
assert_eq "unknown route" "404 " "$(api GET /api/v2/nope)"
check 'len(s["feeds"]) == 1'

# --- matching and normal: left alone ---
ctl POST clear-requests
up || { cat "$T/err" >&2; fail "second up failed"; }
grep -q "ticdc: changefeed shop-cdc is normal and matches the manifest (checkpoint 2[0-9-]* [0-9:.]* UTC)" "$T/err" ||
    fail "no 'matches' message: $(cat "$T/err")"
check 'muts == []' 'len(s["feeds"]) == 1'

# --- status row: normal, checkpoint time, lag ---
sleep 1.2
status || fail "status exit $? with a normal changefeed: $(cat "$T/out")"
grep -Eq "^changefeed +shop-cdc +normal +- +checkpoint 2[0-9]{3}-[0-9]{2}-[0-9]{2} [0-9:.]+ UTC, lag [0-9]+\.[0-9]s$" "$T/out" ||
    fail "no normal changefeed row: $(cat "$T/out")"
status --json
python3 - "$T/out" <<'EOF' || fail "status --json changefeed row"
import json, sys
row = [r for r in json.load(open(sys.argv[1]))["rows"] if r["kind"] == "changefeed"][0]
assert row["name"] == "shop-cdc" and row["state"] == "normal" and row["ok"] is True, row
assert isinstance(row["checkpoint_ts"], int) and row["checkpoint_ts"] > 2**53, row
assert 0.5 <= row["lag_seconds"] < 30, row
EOF

# --- stopped, warning, failed: resumed with {} ---
for st in stopped warning failed; do
    ctl POST feed "{\"id\":\"shop-cdc\",\"state\":\"$st\",\"error\":{\"code\":\"CDC:ErrKafkaNewProducer\",\"message\":\"kafka: client has run out of available brokers to talk to\"}}"
    if [ $st = failed ]; then
        status && fail "status exit 0 with a failed changefeed"
        grep -Eq "^changefeed +shop-cdc +failed +- +checkpoint .* UTC, lag [0-9.]+s; error CDC:ErrKafkaNewProducer: kafka: client has run out of available brokers to talk to$" "$T/out" ||
            fail "no failed row with the error: $(cat "$T/out")"
    fi
    ctl POST clear-requests
    up || { cat "$T/err" >&2; fail "up on a $st feed failed"; }
    want="ticdc: changefeed shop-cdc was $st; resumed"
    [ $st = stopped ] || want="ticdc: changefeed shop-cdc was $st (CDC:ErrKafkaNewProducer: kafka: client has run out of available brokers to talk to); resumed"
    grep -qF "$want" "$T/err" || fail "no resume message for $st: $(cat "$T/err")"
    check 'muts == [("POST", "/api/v2/changefeeds/shop-cdc/resume", {})]' 'feed["state"] == "normal"'
done

# --- drift: sink and rules differ -> pause, update (complete config), resume ---
manifest "$SINK3" '["shop.*", "!shop.tmp"]'
ctl POST clear-requests
up || { cat "$T/err" >&2; fail "up with drift failed"; }
grep -qF 'ticdc: changefeed shop-cdc differed from the manifest: sink_uri partition-num 1 -> 3; replica_config filter.rules ["shop.*"] -> ["shop.*","!shop.tmp"]; paused, updated and resumed' "$T/err" ||
    fail "no drift message: $(cat "$T/err")"
check '[m[:2] for m in muts] == [("POST", "/api/v2/changefeeds/shop-cdc/pause"), ("PUT", "/api/v2/changefeeds/shop-cdc"), ("POST", "/api/v2/changefeeds/shop-cdc/resume")]' \
    "muts[1][2][\"sink_uri\"] == \"$SINK3\"" \
    'muts[1][2]["replica_config"]["filter"]["rules"] == ["shop.*", "!shop.tmp"]' \
    'muts[2][2] == {}' \
    "feed[\"sink_uri\"] == \"$SINK3\"" 'feed["state"] == "normal"' \
    'feed["config"]["filter"]["rules"] == ["shop.*", "!shop.tmp"]' \
    'feed["config"]["memory_quota"] == 1073741824' 'feed["config"]["check_gc_safe_point"] is True' \
    'feed["config"]["mounter"] == {"worker_num": 16}' 'len(s["feeds"]) == 1'
ctl POST clear-requests
up || fail "up after the update failed"
check 'muts == []'

# --- drift on a stopped feed: no pause needed ---
manifest "$SINK1" '["shop.*"]'
ctl POST feed '{"id":"shop-cdc","state":"stopped","error":null}'
ctl POST clear-requests
up || { cat "$T/err" >&2; fail "up with drift on a stopped feed failed"; }
grep -qF "sink_uri partition-num 3 -> 1; replica_config filter.rules" "$T/err" || fail "no drift message: $(cat "$T/err")"
grep -qF "; updated and resumed" "$T/err" || fail "no 'updated and resumed': $(cat "$T/err")"
check '[m[:2] for m in muts] == [("PUT", "/api/v2/changefeeds/shop-cdc"), ("POST", "/api/v2/changefeeds/shop-cdc/resume")]' \
    "feed[\"sink_uri\"] == \"$SINK1\"" 'feed["state"] == "normal"'

# --- TiCDC's errors reach the user with error_code and error_msg ---
ctl POST feed '{"id":"shop-cdc","state":"failed","error":{"code":"CDC:ErrGCTTLExceeded","message":"gc ttl exceeded"}}'
ctl POST fail-next '{"method":"POST","path":"/api/v2/changefeeds/shop-cdc/resume","status":400,"code":"CDC:ErrStartTsBeforeGC","msg":"fail to create or maintain changefeed because start-ts 1 is earlier than or equal to GC safepoint at 2"}'
up && fail "up succeeded although resume was refused"
grep -qF "cdcctl: up: ticdc: resume changefeed shop-cdc: CDC:ErrStartTsBeforeGC: [CDC:ErrStartTsBeforeGC]fail to create or maintain changefeed because start-ts 1 is earlier than or equal to GC safepoint at 2 (HTTP 400)" "$T/err" ||
    fail "resume error not reported with code and message: $(cat "$T/err")"
curl -sf -X DELETE "http://127.0.0.1:$FAKE_PORT/api/v2/changefeeds/shop-cdc" >/dev/null || fail "delete"
status && fail "status exit 0 with no changefeed"
grep -Eq "^changefeed +shop-cdc +missing +- +not created \(run cdcctl up\)$" "$T/out" || fail "no missing row: $(cat "$T/out")"
manifest "kafka://kafka:29092/t?protocol=bogus" '["shop.*"]'
up && fail "up succeeded with an unknown protocol"
grep -qF "cdcctl: up: ticdc: create changefeed shop-cdc: CDC:ErrSinkUnknownProtocol: [CDC:ErrSinkUnknownProtocol]unknown 'bogus' message protocol for sink (HTTP 500)" "$T/err" ||
    fail "create error not reported with code and message: $(cat "$T/err")"
check '"shop-cdc" not in s["feeds"]'

# --- a secret in the sink URI (from the environment) never reaches the output ---
export SINK_SECRET='s3cr3t-Value'
manifest 'kafka://kafka:29092/shop-db-data-changes?protocol=canal-json&partition-num=3&sasl-user=cdc&sasl-password=${SINK_SECRET}' '["shop.*"]'
up || { cat "$T/err" >&2; fail "up with a sasl password failed"; }
grep -qF "sasl-password=xxxxx" "$T/err" || fail "masked sink not shown: $(cat "$T/err")"
check 'feed["sink_uri"].endswith("sasl-password=s3cr3t-Value")'
ctl POST clear-requests
up || fail "second up with a sasl password failed"
check 'muts == []' # TiCDC shows the URI masked; a masked value matches the manifest's
ctl POST feed '{"id":"shop-cdc","state":"failed","error":{"code":"CDC:ErrKafkaNewProducer","message":"sasl auth failed for sasl-password=s3cr3t-Value"}}'
status && fail "status exit 0 with a failed feed"
ctl POST fail-next '{"method":"POST","path":"/api/v2/changefeeds/shop-cdc/resume","status":400,"code":"CDC:ErrSinkURIInvalid","msg":"sink uri invalid kafka://kafka:29092/t?sasl-password=s3cr3t-Value"}'
up && fail "up succeeded although resume was refused"
grep -qF "CDC:ErrSinkURIInvalid: [CDC:ErrSinkURIInvalid]sink uri invalid kafka://kafka:29092/t?sasl-password=xxxxx (HTTP 400)" "$T/err" ||
    fail "scrubbed error not shown: $(cat "$T/err")"
grep -qF "s3cr3t" "$T/out" "$T/err" && fail "the sink secret reached the output"
"$CDCCTL" -f "$T/cdcctl.yaml" status --json >"$T/out" 2>&1
grep -qF "s3cr3t" "$T/out" && fail "the sink secret reached status --json"
curl -sf -X DELETE "http://127.0.0.1:$FAKE_PORT/api/v2/changefeeds/shop-cdc" >/dev/null || fail "delete"
unset SINK_SECRET

# --- TiCDC cannot reach the brokers it is told about (in-network listener) ---
fake_start kcheck --check-kafka
dead=$(free_port)
manifest "kafka://127.0.0.1:$dead/shop-db-data-changes?protocol=canal-json&partition-num=3" '["shop.*"]'
up && fail "up succeeded although TiCDC cannot reach Kafka"
grep -qF "cdcctl: up: ticdc: create changefeed shop-cdc: CDC:ErrKafkaNewProducer: [CDC:ErrKafkaNewProducer]new sarama producer: kafka: client has run out of available brokers to talk to: dial tcp 127.0.0.1:$dead" "$T/err" ||
    fail "kafka error not reported: $(cat "$T/err")"

# --- an old server: /api/v2 is 404, v1 is used ---
fake_start v1 --v1-only
manifest "$SINK3" '["shop.*"]'
up || { cat "$T/err" >&2; fail "up against a v1 server failed"; }
grep -qF "ticdc: created changefeed shop-cdc (sink $SINK3" "$T/err" || fail "v1 create message: $(cat "$T/err")"
check '[m[:2] for m in muts] == [("POST", "/api/v1/changefeeds")]' \
    'muts[0][2]["filter_rules"] == ["shop.*"] and muts[0][2]["changefeed_id"] == "shop-cdc"' \
    "muts[0][2][\"sink_uri\"] == \"$SINK3\"" 'feed["state"] == "normal"'
ctl POST clear-requests
up || fail "second up against v1 failed"
check 'muts == []'
ctl POST feed '{"id":"shop-cdc","state":"stopped"}'
up || fail "resume against v1 failed"
check 'muts[-1][:2] == ("POST", "/api/v1/changefeeds/shop-cdc/resume")' 'feed["state"] == "normal"'
status || fail "status against v1: $(cat "$T/out")"
grep -Eq "^changefeed +shop-cdc +normal +- +checkpoint .* UTC, lag [0-9.]+s$" "$T/out" || fail "v1 status row: $(cat "$T/out")"
echo "31-ticdc-changefeed: ok"
