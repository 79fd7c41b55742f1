#!/usr/bin/env bash
# kill -9 of `cdcctl consume` mid-stream while Elasticsearch is slow, then a
# restart of the same group: no document lost (the set of _ids is exactly the
# expected set) and none duplicated (one document per _id; only the tail that was
# not yet acknowledged and committed may have been written twice).
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
need_helpers
CHECK="python3 $CDCCTL_ROOT/tests/tools/consume_check.py"
X=(-X session.timeout.ms=6000)
BATCH=100

mk_start -t cdc:4
es_start --delay-ms 250 # every _bulk answer 250 ms late, after storing its documents

"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 4 --report "$WORK/r1" \
    --gen insert=1800,update=600,delete=200,ddl=16,watermark=8,bad=5 >/dev/null || fail "canal_produce"
total=$($CHECK counts "$WORK/r1" | sed -n 's/.*lines=\([0-9]*\).*/\1/p')
stats() { es_get _fake/stats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

consumer_start c1 --brokers "$BROKERS" --topic cdc --group g52 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_URL" --es-batch-docs "$BATCH" --es-batch-ms 200 "${X[@]}"
wait_for 60 sh -c "[ \$(curl -fsS $ES_CTL/_fake/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"docs\"])') -ge 800 ]" ||
    fail "consumer made no progress: $(stats '["docs"]') documents"
kill -9 "$PID_c1"
wait "$PID_c1" 2>/dev/null
at_kill=$(stats '["docs"]')
[ "$at_kill" -lt "$total" ] || fail "killed too late: all $total documents were already there"
pass_msg "killed with $at_kill of $total documents indexed"

# Restart with a fast Elasticsearch; the group resumes from its committed offsets.
es_get "_fake/delay?ms=0" >/dev/null
"$CDCCTL" consume --brokers "$BROKERS" --topic cdc --group g52 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_URL" --es-batch-docs "$BATCH" --es-batch-ms 200 --exit-at-eof "${X[@]}" \
    >"$WORK/c2.out" 2>"$WORK/c2.err" || fail "restart: $(tail -3 "$WORK/c2.err")"

es_get _fake/docs >"$WORK/docs.json"
$CHECK esdocs cdc cdc-events "$WORK/r1" -- "$WORK/docs.json" || fail "documents after the restart"
read -r rewritten maxw < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["docs"]
print(sum(1 for x in d if x["writes"] > 1), max(x["writes"] for x in d))' "$WORK/docs.json")
assert_eq "documents (one per _id)" "$total" "$(stats '["docs"]')"
assert_eq "most writes of one _id" "$([ "$rewritten" -gt 0 ] && echo 2 || echo 1)" "$maxw"
# The re-sent tail: the batch in flight when killed plus the batch whose offsets
# were stored but whose async commit had not landed.
[ "$rewritten" -le $((2 * BATCH)) ] || fail "$rewritten documents re-sent after the crash, more than the unacknowledged tail (<= $((2 * BATCH)))"
pass_msg "re-sent after the crash: $rewritten documents (<= $((2 * BATCH)))"
lines2=$(count_lines "$WORK/c2.out")
[ "$lines2" -le $((total - at_kill + 2 * BATCH)) ] || fail "restart re-read $lines2 rows"
pass_msg "restart read $lines2 rows (the $((total - at_kill)) missing + the unacknowledged tail)"
