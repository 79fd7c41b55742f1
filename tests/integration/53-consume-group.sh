#!/usr/bin/env bash
# Two `cdcctl consume` processes in one group share a 4-partition topic
# (cooperative-sticky): each gets some partitions, together they log every row
# exactly once (the union of their CDC_EVENT lines is the whole set), and the sum
# of their db_changes_total is exact. When one leaves, the other takes over its
# partitions from the committed offsets.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
need_helpers
CHECK="python3 $CDCCTL_ROOT/tests/tools/consume_check.py"
X=(-X session.timeout.ms=6000)

mk_start -t cdc:4
args=(--brokers "$BROKERS" --topic cdc --group g53 --metrics-addr 127.0.0.1:0 --no-es "${X[@]}")
consumer_start a "${args[@]}"
consumer_start b "${args[@]}"

# The partitions each member owns now, from its "assigned"/"revoked" lines.
owned() {
    python3 - "$WORK/$1.err" <<'EOF'
import re, sys
own = set()
for line in open(sys.argv[1]):
    m = re.search(r"(assigned|revoked) topic=cdc partitions=([0-9,]*)", line)
    if m and m.group(2):
        ps = set(map(int, m.group(2).split(",")))
        own = own | ps if m.group(1) == "assigned" else own - ps
print(",".join(map(str, sorted(own))))
EOF
}
split_ok() {
    local a b
    a=$(owned a) b=$(owned b)
    [ -n "$a" ] && [ -n "$b" ] || return 1
    python3 -c 'import sys; a=set(sys.argv[1].split(",")); b=set(sys.argv[2].split(",")); sys.exit(0 if not a & b and a | b == {"0","1","2","3"} else 1)' "$a" "$b"
}
wait_for 60 split_ok || fail "the group did not split 4 partitions between two members: a=[$(owned a)] b=[$(owned b)]"
pass_msg "partitions: a=[$(owned a)] b=[$(owned b)]"

"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 4 --tables 8 --report "$WORK/r1" \
    --gen insert=400,update=200,delete=100,ddl=16,watermark=8,bad=4 >/dev/null || fail "canal_produce"
total=$($CHECK counts "$WORK/r1" | sed -n 's/.*lines=\([0-9]*\).*/\1/p')
wait_for 60 sh -c "[ \$((\$(grep -c '^CDC_EVENT ' $WORK/a.out) + \$(grep -c '^CDC_EVENT ' $WORK/b.out))) -ge $total ]" ||
    fail "the two members logged $(($(count_lines "$WORK/a.out") + $(count_lines "$WORK/b.out"))) of $total rows"
sleep 1 # anything more would be a duplicate
assert_eq "rows logged by a + b" "$total" "$(($(count_lines "$WORK/a.out") + $(count_lines "$WORK/b.out")))"
$CHECK lines cdc "$WORK/r1" -- "$WORK/a.out" "$WORK/b.out" || fail "union of the members' lines"
$CHECK metrics cdc "$WORK/r1" -- "$MURL_a" "$MURL_b" || fail "sum of the members' metrics"

# Each member logged only its own partitions, and both did some of the work.
for m in a b; do
    mine=$(owned $m)
    other=$(grep -o '^CDC_EVENT topic=cdc partition=[0-9]*' "$WORK/$m.out" | sed 's/.*=//' | sort -u |
        python3 -c 'import sys; own=set(sys.argv[1].split(",")); print(",".join(p for p in sys.stdin.read().split() if p not in own))' "$mine")
    assert_eq "member $m: lines from partitions it does not own" "" "$other"
    [ "$(count_lines "$WORK/$m.out")" -gt 0 ] || fail "member $m logged nothing"
done
pass_msg "a logged $(count_lines "$WORK/a.out") rows, b $(count_lines "$WORK/b.out")"

# a leaves (SIGTERM: commit, leave the group); b takes over a's partitions from
# a's committed offsets: new rows are all logged by b, nothing old again.
consumer_stop a TERM
assert_eq "a: exit status after SIGTERM" "0" "$RC"
b_before=$(count_lines "$WORK/b.out")
b_owns_all() { [ "$(owned b)" = "0,1,2,3" ]; }
wait_for 60 b_owns_all || fail "b did not take over all partitions: [$(owned b)]"
pass_msg "b owns [$(owned b)] after a left"
"$HELPERS/canal_produce" -b "$BROKERS" -t cdc -p 4 --tables 8 --report "$WORK/r2" --gen insert=200 >/dev/null ||
    fail "canal_produce"
wait_lines "$WORK/b.out" $((b_before + 200)) 60
tail -n 200 "$WORK/b.out" >"$WORK/b.tail"
$CHECK lines cdc "$WORK/r2" -- "$WORK/b.tail" || fail "rows after the takeover"
consumer_stop b TERM
assert_eq "b: exit status after SIGTERM" "0" "$RC"
