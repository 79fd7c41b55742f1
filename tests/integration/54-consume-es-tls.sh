#!/usr/bin/env bash
# cdcctl consume -> Elasticsearch over HTTPS (Elasticsearch 8 serves TLS by
# default, usually with its own CA): the Elasticsearch fake speaks TLS with a
# certificate for 127.0.0.1 signed by a CA made here with openssl. With
# --es-ca-cert CA every row lands once; without it the consumer does not trust
# the server, reports the certificate problem, indexes nothing and keeps retrying
# (Kafka keeps the data); a CA file that cannot be read is a usage error (exit 2)
# named before anything starts.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
need_helpers
need_cmd openssl
X=(-X session.timeout.ms=6000)

# A CA and a server certificate for IP 127.0.0.1 signed by it.
(
    cd "$WORK" &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cdcctl test CA" \
            -keyout ca.key -out ca.pem &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.pem
) >"$WORK/openssl.log" 2>&1 || fail "openssl: $(tail -3 "$WORK/openssl.log")"

mk_start -t cdc:2
es_start --tls "$WORK/server.pem" "$WORK/server.key"
ES_HTTPS=${ES_URL/http:/https:}
"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 2 --gen insert=40,delete=10 >/dev/null || fail "canal_produce"
stats() { es_get _fake/stats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# 1. A CA file that is not there: exit 2, the path named, nothing consumed.
rc=0
"$CDCCTL" consume --brokers "$BROKERS" --topic cdc --group g54 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_HTTPS" --es-ca-cert "$WORK/missing.pem" "${X[@]}" >"$WORK/c0.out" 2>"$WORK/c0.err" || rc=$?
assert_eq "exit status with an unreadable CA bundle" "2" "$rc"
grep -q "elasticsearch CA bundle $WORK/missing.pem: No such file or directory" "$WORK/c0.err" ||
    fail "error does not name the CA file: $(cat "$WORK/c0.err")"

# 2. Without the CA: the server is not trusted; nothing indexed, nothing committed.
consumer_start c1 --brokers "$BROKERS" --topic cdc --group g54 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_HTTPS" --es-batch-ms 100 "${X[@]}"
wait_for 30 grep -q "certificate" "$WORK/c1.err" || fail "no certificate error reported: $(tail -5 "$WORK/c1.err")"
kill -0 "$PID_c1" || fail "consumer exited on an untrusted certificate"
assert_eq "documents without the CA" "0" "$(stats '["docs"]')"
kill -INT "$PID_c1"
sleep 0.5
t0=$(date +%s)
consumer_stop c1 INT # a second signal stops waiting for Elasticsearch
[ $(($(date +%s) - t0)) -le 5 ] || fail "consumer took more than 5 s to stop after a second SIGINT"
grep -q "documents not acknowledged at shutdown; their messages will be consumed again" "$WORK/c1.err" ||
    fail "shutdown without Elasticsearch not reported: $(tail -3 "$WORK/c1.err")"
pass_msg "untrusted server: $(grep -m1 -o 'certificate[^;]*' "$WORK/c1.err" | head -c 120)"

# 3. With --es-ca-cert: every row lands once, from the start (no offset was committed).
"$CDCCTL" consume --brokers "$BROKERS" --topic cdc --group g54 --metrics-addr 127.0.0.1:0 \
    --es-url "$ES_HTTPS" --es-ca-cert "$WORK/ca.pem" --exit-at-eof "${X[@]}" \
    >"$WORK/c2.out" 2>"$WORK/c2.err" || fail "consume with the CA: $(tail -3 "$WORK/c2.err")"
assert_eq "CDC_EVENT lines" "50" "$(count_lines "$WORK/c2.out")"
assert_eq "documents over HTTPS" "50" "$(stats '["docs"]')"
assert_eq "document writes over HTTPS" "50" "$(stats '["writes"]')"
pass_msg "HTTPS with --es-ca-cert: 50 rows indexed once"
