#!/usr/bin/env bash
# cdcctl consume -> Elasticsearch (tests/fakes/es_fake.py, which checks NDJSON,
# Content-Type and action lines like the real _bulk): the index template goes in
# before the first _bulk; every row lands exactly once in cdc-events-YYYY.MM.DD of
# its commit time with _id <topic>-<partition>-<offset>-<row>; whole-request 429,
# 500 and an outage are retried with backoff (consumption paused) and end complete
# with no duplicates; a per-item permanent error is logged, counted and skipped; a
# per-item 429 is retried; a 413 (request too large) makes the requests smaller and
# an oversized document is skipped; offsets are committed only for acknowledged
# documents.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
need_helpers
CHECK="python3 $CDCCTL_ROOT/tests/tools/consume_check.py"
CORPUS=$CDCCTL_ROOT/tests/data/canal
X=(-X session.timeout.ms=6000)

mk_start -t cdc:2
es_start

produce() { # produce REPORT ARGS...
    local r=$1
    shift
    "$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 2 --report "$WORK/$r" "$@" >/dev/null || fail "canal_produce"
    REPORTS+=("$WORK/$r")
}
REPORTS=()
stats() { es_get _fake/stats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
ndocs() { stats '["docs"]'; }
want_docs() { $CHECK counts "${REPORTS[@]}" | sed -n 's/.*lines=\([0-9]*\).*/\1/p'; }
# check_docs [--except FILE]: the stored documents are exactly the expected ones,
# each written once.
check_docs() {
    es_get _fake/docs >"$WORK/docs.json"
    $CHECK esdocs cdc cdc-events "${REPORTS[@]}" -- "$WORK/docs.json" "$@" || fail "documents"
    local multi
    multi=$(python3 -c 'import json,sys; print(sum(1 for d in json.load(open(sys.argv[1]))["docs"] if d["writes"] != 1))' "$WORK/docs.json")
    assert_eq "documents written more than once" "0" "$multi"
}
wait_docs() { # wait_docs N SECONDS
    wait_for "$2" sh -c "[ \"\$(curl -fsS $ES_CTL/_fake/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"docs\"])')\" = $1 ]" ||
        fail "Elasticsearch has $(ndocs) documents after $2 s, expected $1"
}

consumer_start c1 --brokers "$BROKERS" --topic cdc --group g51 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_URL" --es-batch-docs 50 --es-batch-ms 200 "${X[@]}"

# 1. Template first, then the corpus and a generated stream (two commit days).
produce r1 --es 1640007049196 --gen insert=100,update=40,delete=20,ddl=8,watermark=4,bad=3 \
    "$CORPUS"/valid/* "$CORPUS"/malformed/*
produce r2 --es 1640995200000 --gen insert=30 # 2022-01-01T00:00:00.000Z
wait_docs "$(want_docs)" 60
assert_eq "first request to Elasticsearch" "template" "$(stats '["events"][0]')"
assert_eq "documents indexed before the template existed" "0" "$(stats '["bulk_before_template"]')"
assert_eq "template index_patterns" "['cdc-events-*']" "$(stats '["templates"]["cdc-events"]["index_patterns"]')"
check_docs
assert_eq "documents in cdc-events-2022.01.01" "30" \
    "$(python3 -c 'import json,sys; print(sum(1 for d in json.load(open(sys.argv[1]))["docs"] if d["_index"]=="cdc-events-2022.01.01"))' "$WORK/docs.json")"
assert_eq "bulk requests rejected by the fake (bad NDJSON, Content-Type, actions)" "0" "$(stats '["rejected"]')"

# 2. 429 for the next 3 bulk requests, then 500 for the next 2: retried, complete,
#    each document written once.
es_get "_fake/fail?status=429&count=3" >/dev/null
produce r3 --gen insert=60
wait_docs "$(want_docs)" 60
es_get "_fake/fail?status=500&count=2" >/dev/null
produce r4 --gen update=40
wait_docs "$(want_docs)" 60
check_docs
assert_eq "bulk requests answered 429/500" "5" "$(stats '["bulk_failed_whole"]')"
retries=$(metric "$MURL_c1" 'cdc_es_bulk_requests_total{outcome="retry"}')
[ "${retries%.*}" -ge 5 ] || fail "cdc_es_bulk_requests_total{outcome=\"retry\"} = $retries, want >= 5"
pass_msg "retry outcomes counted ($retries)"
grep -q 'elasticsearch: bulk request failed (HTTP 429)' "$WORK/c1.err" || fail "429 not reported"

# 3. Elasticsearch down: nothing is acknowledged, consumption pauses; up: complete.
before=$(ndocs)
es_get _fake/down >/dev/null
produce r5 --gen insert=50,delete=10
sleep 3
kill -0 "$PID_c1" || fail "consumer died while Elasticsearch was down"
assert_eq "documents while down" "$before" "$(ndocs)"
lines_down=$(count_lines "$WORK/c1.out")
es_get _fake/up >/dev/null
wait_docs "$(want_docs)" 60
check_docs
grep -q 'consumption resumed' "$WORK/c1.err" || fail "no resume message"
pass_msg "outage: paused, retried, complete ($lines_down lines were logged while down)"

# 4. Per-item errors. Five documents of the next batch are rejected for good
#    (400 mapper_parsing_exception): logged, counted, skipped. Five others get a
#    per-item 429 once: retried and indexed.
read -r end0 end1 < <(python3 -c '
import sys
ends = {0: 0, 1: 0}
for rep in sys.argv[1:]:
    for l in open(rep):
        p, o = map(int, l.split()[:2]); ends[p] = max(ends[p], o + 1)
print(ends[0], ends[1])' "${REPORTS[@]}")
perm=$(for i in 0 1 2 3 4; do echo "cdc-0-$((end0 + i))-0"; done)
tran=$(for i in 0 1 2 3 4; do echo "cdc-1-$((end1 + i))-0"; done)
printf '%s\n' $perm >"$WORK/perm.ids"
pat() { printf '^(%s)$' "$(printf '%s\n' $1 | paste -sd'|')"; }
es_get "_fake/item_error?status=400&type=mapper_parsing_exception&count=-1&pattern=$(pat "$perm" | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read()))')" >/dev/null
es_get "_fake/item_error?status=429&type=es_rejected_execution_exception&count=5&pattern=$(pat "$tran" | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read()))')" >/dev/null
failed0=$(metric "$MURL_c1" 'cdc_es_documents_total{outcome="failed"}')
produce r6 --gen insert=40
wait_docs "$(($(want_docs) - 5))" 60
sleep 1 # let the 429 items come back
check_docs --except "$WORK/perm.ids"
for id in $perm; do
    grep -q "elasticsearch: document $id rejected (HTTP 400): mapper_parsing_exception" "$WORK/c1.err" ||
        fail "permanent rejection of $id not logged"
done
assert_eq "cdc_es_documents_total{outcome=\"failed\"}" "$((${failed0%.*} + 5))" \
    "$(metric "$MURL_c1" 'cdc_es_documents_total{outcome="failed"}')"
assert_eq "per-item errors answered by the fake (5 permanent + 5 transient)" "10" "$(stats '["item_errors"]')"
indexed=$(metric "$MURL_c1" 'cdc_es_documents_total{outcome="indexed"}')
assert_eq "cdc_es_documents_total{outcome=\"indexed\"}" "$(($(want_docs) - 5))" "${indexed%.*}"

# 5. A request larger than Elasticsearch accepts (http.max_content_length, here
#    20 kB): answered 413, so the consumer sends smaller requests, and every
#    document still lands once; a document that alone is too large is logged,
#    counted as failed and skipped, and consumption goes on.
es_get "_fake/max_content_length?bytes=20000" >/dev/null
failed0=$(metric "$MURL_c1" 'cdc_es_documents_total{outcome="failed"}')
produce r7 "$CORPUS/valid/insert_big.json" # one row of about 100 kB
big=$(awk '{print "cdc-" $1 "-" $2 "-0"}' "$WORK/r7")
cat "$WORK/perm.ids" >"$WORK/skipped.ids"
echo "$big" >>"$WORK/skipped.ids"
produce r8 --gen insert=150,update=50
wait_docs "$(($(want_docs) - 6))" 60
check_docs --except "$WORK/skipped.ids"
too_large=$(stats '["too_large"]')
[ "$too_large" -ge 2 ] || fail "requests answered 413: $too_large, want >= 2 (a split batch and the big document)"
grep -q "elasticsearch: bulk request of [0-9]* bytes too large (HTTP 413); sending at most" "$WORK/c1.err" ||
    fail "no 413 split reported"
grep -q "elasticsearch: document $big rejected (HTTP 413" "$WORK/c1.err" || fail "the oversized document was not reported"
assert_eq "cdc_es_documents_total{outcome=\"failed\"} after the oversized document" "$((${failed0%.*} + 1))" \
    "$(metric "$MURL_c1" 'cdc_es_documents_total{outcome="failed"}')"
es_get "_fake/max_content_length?bytes=0" >/dev/null
pass_msg "413: split into smaller requests ($too_large answered 413), the oversized document skipped"

# 6. SIGTERM: exit 0; the group's offsets cover everything acknowledged (a second
#    run reads nothing and writes nothing).
writes=$(stats '["writes"]')
consumer_stop c1 TERM
assert_eq "exit status after SIGTERM" "0" "$RC"
"$CDCCTL" consume --brokers "$BROKERS" --topic cdc --group g51 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_URL" --exit-at-eof "${X[@]}" >"$WORK/c2.out" 2>"$WORK/c2.err" || fail "second run: $(tail -3 "$WORK/c2.err")"
assert_eq "second run: lines" "0" "$(count_lines "$WORK/c2.out")"
assert_eq "second run: document writes" "$writes" "$(stats '["writes"]')"
