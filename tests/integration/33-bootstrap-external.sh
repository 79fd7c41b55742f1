#!/usr/bin/env bash
# The whole `cdcctl up` and `cdcctl status` against a manifest whose pd, tidb,
# kafka and ticdc services are all `external:` -- a real MariaDB, librdkafka's
# mock cluster and the TiCDC fake (which also answers PD's store API and, with
# --check-kafka, dials the brokers of the sink URI like TiCDC does) -- with no
# Docker daemon at all (DOCKER_HOST points nowhere). Checks the order of the
# steps, the derived sink URI, the status rows, and that a second up changes
# nothing.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/mariadb.sh"
need_cmd python3 curl
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
[ -x "$HELPERS/mockkafka" ] || fail "$HELPERS/mockkafka not built"
T=$(mktmp)
export CDCCTL_STATE_DIR=$T/state DOCKER_HOST=unix:///nonexistent/docker.sock
unset SHOP_ADMIN_PASSWORD TIDB_ROOT_PASSWORD DOCKER_CONTEXT
mariadb_start

mkfifo "$T/mock.in"
"$HELPERS/mockkafka" -t shop-db-data-changes:3 <"$T/mock.in" >"$T/mock.out" 2>"$T/mock.err" &
MOCK_PID=$!
exec 3>"$T/mock.in"
on_exit "exec 3>&-; wait $MOCK_PID 2>/dev/null"
wait_for 10 grep -q '^BROKERS=' "$T/mock.out" || fail "mockkafka did not start"
BROKERS=$(sed -n 's/^BROKERS=//p' "$T/mock.out")

python3 "$CDCCTL_ROOT/tests/fakes/ticdc_fake.py" 0 --ready-after 2 --check-kafka >"$T/fake.out" 2>"$T/fake.err" &
FAKE_PID=$!
on_exit "kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null"
wait_for 10 grep -q LISTENING "$T/fake.out" || fail "fake did not start"
FAKE=127.0.0.1:$(awk '/LISTENING/ {print $2}' "$T/fake.out")
ctl() { curl -sf -X POST "http://$FAKE/_fake/$1" -H 'Content-Type: application/json' -d "$2" >/dev/null ||
    fail "fake control $1"; }

cp "$CDCCTL_ROOT/config/schema.sql" "$CDCCTL_ROOT/config/changefeed.json" "$T/"
write_manifest() { # write_manifest PD_ENDPOINT
    cat >"$T/cdcctl.yaml" <<EOF
project: bt33
services:
  pd:
    external: $1
  tidb:
    external: $MARIADB_ADDR
  kafka:
    external: $BROKERS
  ticdc:
    external: $FAKE
tidb:
  service: tidb
  pd_service: pd
  schema: schema.sql
  users:
    - name: shop_admin
      password_env: SHOP_ADMIN_PASSWORD
      grants: ["ALL PRIVILEGES ON shop.*"]
kafka:
  service: kafka
  topic: shop-db-data-changes
  partitions: 3
  replication_factor: 1
ticdc:
  service: ticdc
  changefeed: shop-cdc
  filter_rules: ["shop.*"]
  config: changefeed.json
EOF
}
write_manifest "$FAKE"

# --- first up: PD says the store is not Up yet; then everything converges ---
ctl store '{"state_name":"Disconnected"}'
"$CDCCTL" -f "$T/cdcctl.yaml" up --timeout 90 >"$T/out" 2>"$T/err" &
upid=$!
wait_for 20 grep -q "tidb: waiting for TiKV store to be Up (PD says: Disconnected)" "$T/err" ||
    { kill $upid; fail "no PD waiting line: $(cat "$T/err")"; }
sleep 1
ctl store '{"state_name":"Up"}'
wait $upid || { cat "$T/err" >&2; fail "up failed"; }
cat "$T/err"
grep -q "Docker\|docker" "$T/err" && fail "up talked about Docker with every service external"
# the steps, in order
python3 - "$T/err" "$MARIADB_ADDR" <<'EOF' || fail "steps missing or out of order"
import re, sys
text = open(sys.argv[1]).read()
steps = [r"tidb: waiting for TiKV store to be Up \(PD says: Disconnected\)",
         r"tidb: connected to %s \(version 10\." % re.escape(sys.argv[2]),
         r"tidb: applied schema\.sql \(4 statements\)",
         r"tidb: generated a password for shop_admin in ",
         r"tidb: user shop_admin@% created, password set, grants: ALL PRIVILEGES ON shop\.\*",
         r"kafka: topic shop-db-data-changes exists \(3 partitions\)",
         r"ticdc: waiting for TiCDC at .* \(CDC:ErrServerIsNotReady: ",
         r"ticdc: created changefeed shop-cdc \(sink kafka://"]
pos = 0
for s in steps:
    m = re.compile(s).search(text, pos)
    if not m:
        sys.exit("missing after offset %d: %s" % (pos, s))
    pos = m.end()
EOF
assert_eq "tables" "customers products suppliers " "$(mariadb_root -N -e 'SHOW TABLES FROM shop' | tr '\n' ' ')"
pw=$(cat "$T/state/bt33/secrets/SHOP_ADMIN_PASSWORD")
grep -qF -- "$pw" "$T/out" "$T/err" && fail "the password is in up's output"
assert_eq "shop_admin logs in" "shop_admin@%" "$(mariadb_tcp shop_admin "$pw" -N -e 'SELECT CURRENT_USER()')"
curl -sf "http://$FAKE/_fake/state" >"$T/state.json" || fail "fake state"
python3 - "$T/state.json" "$BROKERS" <<'EOF' || fail "changefeed on the fake"
import json, sys
s = json.load(open(sys.argv[1]))
creates = [r for r in s["requests"] if r["method"] == "POST" and r["path"] == "/api/v2/changefeeds"]
assert len(creates) == 1, creates
body = creates[0]["body"]
want = ("kafka://%s/shop-db-data-changes?protocol=canal-json&kafka-version=2.4.0&partition-num=3"
        "&replication-factor=1&max-message-bytes=1048576&enable-tidb-extension=true" % sys.argv[2])
assert body["sink_uri"] == want, body["sink_uri"]
assert body["replica_config"]["filter"]["rules"] == ["shop.*"], body
assert s["feeds"]["shop-cdc"]["state"] == "normal"
EOF

# --- status: every row, no Docker ---
"$CDCCTL" -f "$T/cdcctl.yaml" status >"$T/out" 2>"$T/err"
rc=$?
cat "$T/out"
assert_eq "status exit" 0 "$rc"
grep -Eq "^tidb +tidb +reachable +- +version 10\." "$T/out" || fail "tidb row"
grep -Eq "^changefeed +shop-cdc +normal +- +checkpoint .* UTC, lag [0-9.]+s$" "$T/out" || fail "changefeed row"
grep -Eq "^topic +shop-db-data-changes +exists +- +3 partitions, end offsets 0,0,0$" "$T/out" || fail "topic row"

# --- second up: nothing changes ---
ctl clear-requests '{}'
"$CDCCTL" -f "$T/cdcctl.yaml" up >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "second up failed"; }
grep -q "tidb: applied schema.sql (4 statements, 4 already applied)" "$T/err" || fail "schema not already applied"
grep -q "tidb: user shop_admin@% exists" "$T/err" || fail "user not kept"
grep -q "ticdc: changefeed shop-cdc is normal and matches the manifest" "$T/err" || fail "changefeed not left alone"
curl -sf "http://$FAKE/_fake/state" >"$T/state.json"
python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["requests"] if x["method"]!="GET" and not x["path"].startswith("/pd/")]; sys.exit(1 if r else 0)' "$T/state.json" ||
    fail "second up sent mutations to TiCDC"
assert_eq "same password" "shop_admin@%" "$(mariadb_tcp shop_admin "$pw" -N -e 'SELECT CURRENT_USER()')"

# --- PD external but unreachable: the step is skipped with a note ---
dead=$(free_port)
write_manifest "127.0.0.1:$dead"
"$CDCCTL" -f "$T/cdcctl.yaml" up >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "up with PD unreachable failed"; }
grep -q "tidb: PD at 127.0.0.1:$dead not reachable: .*; not waiting for TiKV stores" "$T/err" ||
    fail "no PD skip note: $(cat "$T/err")"
echo "33-bootstrap-external: ok"
