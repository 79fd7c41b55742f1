#!/usr/bin/env bash
# The topic step of `cdcctl up` and the topic status row against librdkafka's
# mock cluster (tests/helpers/mockkafka): an existing topic is found and its
# partition count checked (fewer than asked is an error, more a note), end
# offsets are shown, a missing topic is created with CreateTopics -- which the
# mock refuses, so the refusal must be a clear message -- and brokers that do
# not answer are waited for until the deadline. No Docker daemon is involved.
source "$(dirname "$0")/../lib/common.sh"
need_cmd kcat
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
[ -x "$HELPERS/mockkafka" ] || fail "$HELPERS/mockkafka not built"
T=$(mktmp)
export CDCCTL_STATE_DIR=$T/state DOCKER_HOST=unix:///nonexistent
TOPIC=shop-db-data-changes

# the mock runs until its stdin closes; fd 3 holds it open and carries commands
mkfifo "$T/mock.in"
"$HELPERS/mockkafka" -t "$TOPIC:3" <"$T/mock.in" >"$T/mock.out" 2>"$T/mock.err" &
MOCK_PID=$!
exec 3>"$T/mock.in"
on_exit "exec 3>&-; wait $MOCK_PID 2>/dev/null"
wait_for 10 grep -q '^BROKERS=' "$T/mock.out" || fail "mockkafka did not start: $(cat "$T/mock.err")"
BROKERS=$(sed -n 's/^BROKERS=//p' "$T/mock.out")

manifest() { # manifest TOPIC PARTITIONS
    cat >"$T/cdcctl.yaml" <<EOF
project: bt32
services:
  kafka:
    external: $BROKERS
kafka:
  topic: $1
  partitions: $2
  replication_factor: 1
EOF
}
up() { "$CDCCTL" -f "$T/cdcctl.yaml" up "$@" >"$T/out" 2>"$T/err"; }
status() { "$CDCCTL" -f "$T/cdcctl.yaml" status "$@" >"$T/out" 2>"$T/err"; }

# --- existing topic with the asked partition count ---
manifest "$TOPIC" 3
up || { cat "$T/err" >&2; fail "up failed"; }
grep -qx "kafka: topic $TOPIC exists (3 partitions)" "$T/err" || fail "no 'exists' line: $(cat "$T/err")"
status || fail "status exit $?: $(cat "$T/out")"
grep -Eq "^topic +$TOPIC +exists +- +3 partitions, end offsets 0,0,0$" "$T/out" || fail "topic row: $(cat "$T/out")"

# --- end offsets follow what is produced ---
for i in 1 2 3 4 5; do echo "m$i"; done | kcat -P -b "$BROKERS" -t "$TOPIC" -p 0 || fail "kcat produce"
printf 'a\nb\n' | kcat -P -b "$BROKERS" -t "$TOPIC" -p 2 || fail "kcat produce"
status || fail "status exit $?"
grep -Eq "^topic +$TOPIC +exists +- +3 partitions, end offsets 5,0,2$" "$T/out" || fail "topic row after produce: $(cat "$T/out")"
status --json
python3 - "$T/out" <<'EOF' || fail "status --json topic row"
import json, sys
row = [r for r in json.load(open(sys.argv[1]))["rows"] if r["kind"] == "topic"][0]
assert row["state"] == "exists" and row["partitions"] == 3 and row["end_offsets"] == [5, 0, 2], row
assert row["ok"] is True, row
EOF

# --- more partitions than asked: a note ---
manifest "$TOPIC" 2
up || { cat "$T/err" >&2; fail "up with fewer asked partitions failed"; }
grep -qx "kafka: topic $TOPIC exists with 3 partitions (the manifest asks for 2; TiCDC writes to the first 2)" "$T/err" ||
    fail "no note: $(cat "$T/err")"

# --- fewer partitions than asked: an error, and status says so ---
manifest "$TOPIC" 6
up && fail "up succeeded with 3 partitions where 6 are asked"
grep -qF "cdcctl: up: kafka: topic $TOPIC has 3 partitions but the manifest asks for 6" "$T/err" ||
    fail "no partition error: $(cat "$T/err")"
status
assert_eq "status exit with too few partitions" 3 "$?"
grep -Eq "^topic +$TOPIC +exists +- +3 partitions, end offsets 5,0,2 \(the manifest asks for 6 partitions\)$" "$T/out" ||
    fail "topic row with too few partitions: $(cat "$T/out")"

# --- missing topic: CreateTopics is sent; the mock refuses; clear message ---
manifest new-topic 3
status
assert_eq "status exit with a missing topic" 3 "$?"
grep -Eq "^topic +new-topic +missing +- +topic does not exist \(run cdcctl up\)$" "$T/out" || fail "missing row: $(cat "$T/out")"
start=$(date +%s)
up --timeout 8 && fail "up succeeded although the mock cannot create topics"
grep -qF "cdcctl: up: kafka: cannot create topic new-topic: " "$T/err" || fail "no create error: $(cat "$T/err")"
grep -qF "; create it yourself with: kafka-topics.sh --bootstrap-server $BROKERS --create --topic new-topic --partitions 3 --replication-factor 1" "$T/err" ||
    fail "no advice in the create error: $(cat "$T/err")"
[ $(($(date +%s) - start)) -le 30 ] || fail "create took longer than the deadline allows"
# (all-topics metadata: asking for the one topic would make the mock auto-create it)
kcat -L -b "$BROKERS" -m 5 2>/dev/null | grep -q 'topic "new-topic"' &&
    fail "the mock has new-topic although creation was refused"

# --- brokers down: waited for until the deadline, then reported ---
manifest "$TOPIC" 3
echo down >&3
start=$(date +%s)
up --timeout 4 && fail "up succeeded with the brokers down"
[ $(($(date +%s) - start)) -le 25 ] || fail "up did not respect --timeout"
grep -q "^kafka: waiting for brokers (no answer from brokers $BROKERS: " "$T/err" || fail "no waiting line: $(cat "$T/err")"
grep -q "^cdcctl: up: kafka: no answer from brokers $BROKERS: " "$T/err" || fail "no error: $(cat "$T/err")"
status
assert_eq "status exit with brokers down" 3 "$?"
grep -Eq "^topic +$TOPIC +unreachable +- +no answer from brokers " "$T/out" || fail "unreachable row: $(cat "$T/out")"
echo up >&3
wait_for 20 "$CDCCTL" -f "$T/cdcctl.yaml" up || fail "up did not succeed once the brokers were back"
echo "32-kafka-topic: ok"
