# Sourced by the consumer's integration tests (50-53) and benchmark after
# tests/lib/common.sh. Starts librdkafka's mock cluster (build/tests/helpers/mockkafka),
# the Elasticsearch fake (tests/fakes/es_fake.py) and `cdcctl consume` instances, all
# on loopback ephemeral ports, and stops them at exit.
#
#   mk_start -t TOPIC:PARTITIONS...   sets BROKERS; mk_cmd down|up
#   es_start [es_fake args]           sets ES_URL (data port) and ES_CTL (control port)
#   es_get PATH                       GET $ES_CTL/PATH (the control port never goes down)
#   consumer_start NAME ARGS...       runs `cdcctl consume ARGS` with stdout in
#                                     $WORK/NAME.out, stderr in $WORK/NAME.err; sets
#                                     PID_<NAME> and MURL_<NAME> (its /metrics URL)
#   consumer_stop NAME [SIGNAL]       signal (default TERM), wait; sets RC to the exit
#                                     status (call it directly, not in $(...))
#   metric URL 'name{labels}'         the sample's value ("" when absent)
#   count_lines FILE                  CDC_EVENT lines in FILE
#   wait_lines FILE N SECONDS         until FILE has N CDC_EVENT lines (fails if more)

WORK=${WORK:-$(mktmp)}

need_helpers() {
    [ -x "$HELPERS/mockkafka" ] && [ -x "$HELPERS/canal_produce" ] ||
        fail "test helpers missing in $HELPERS (run make build/tests/helpers/mockkafka build/tests/helpers/canal_produce)"
    [ -x "$CDCCTL" ] || fail "$CDCCTL not built"
    need_cmd python3 curl
}

mk_start() {
    need_helpers
    mkfifo "$WORK/mk.in"
    "$HELPERS/mockkafka" "$@" <"$WORK/mk.in" >"$WORK/mk.out" 2>"$WORK/mk.err" &
    MK_PID=$!
    exec {MK_FD}>"$WORK/mk.in"
    on_exit "_mk_stop"
    wait_for 20 grep -q '^BROKERS=' "$WORK/mk.out" || { cat "$WORK/mk.err" >&2; fail "mockkafka did not start"; }
    BROKERS=$(sed -n 's/^BROKERS=//p' "$WORK/mk.out")
}

mk_cmd() { echo "$1" >&"$MK_FD"; }

_mk_stop() {
    [ -n "${MK_FD:-}" ] && exec {MK_FD}>&-
    stop_pid "$MK_PID"
}

es_start() {
    python3 "$CDCCTL_ROOT/tests/fakes/es_fake.py" --no-stdin "$@" >"$WORK/es.out" 2>"$WORK/es.err" &
    ES_PID=$!
    on_exit "stop_pid $ES_PID"
    wait_for 20 grep -q '^PORT=' "$WORK/es.out" || { cat "$WORK/es.err" >&2; fail "es_fake did not start"; }
    ES_URL=http://127.0.0.1:$(sed -n 's/^PORT=\([0-9]*\).*/\1/p' "$WORK/es.out")
    ES_CTL=http://127.0.0.1:$(sed -n 's/.*CONTROL=\([0-9]*\).*/\1/p' "$WORK/es.out")
}

es_get() { curl -fsS "$ES_CTL/$1"; }

consumer_start() {
    local name=$1
    shift
    "$CDCCTL" consume "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$!
    eval "PID_$name=$pid"
    on_exit "kill -9 $pid 2>/dev/null || true"
    if ! wait_for 20 grep -q 'metrics on http://' "$WORK/$name.err"; then
        cat "$WORK/$name.err" >&2
        fail "consumer $name did not start"
    fi
    eval "MURL_$name=$(sed -n 's|.*metrics on \(http://[^ ]*\).*|\1|p' "$WORK/$name.err" | head -1)"
}

consumer_stop() {
    local name=$1 sig=${2:-TERM} pid
    pid=$(eval "echo \$PID_$name")
    kill "-$sig" "$pid" 2>/dev/null
    RC=0
    wait "$pid" || RC=$?
}

metric() {
    curl -fsS "$1" | python3 -c '
import sys
want = sys.argv[1]
for line in sys.stdin:
    if line.startswith("#"):
        continue
    name, _, value = line.rstrip("\n").rpartition(" ")
    if name == want:
        print(value)
        break' "$2"
}

count_lines() { grep -c '^CDC_EVENT ' "$1" 2>/dev/null || true; }

wait_lines() {
    local file=$1 want=$2 secs=$3 n
    local end=$(($(date +%s) + secs))
    while :; do
        n=$(count_lines "$file")
        [ "${n:-0}" -eq "$want" ] && return 0
        [ "${n:-0}" -gt "$want" ] && fail "$file: $n CDC_EVENT lines, expected $want"
        [ "$(date +%s)" -ge "$end" ] && fail "$file: $n CDC_EVENT lines after ${secs}s, expected $want"
        sleep 0.2
    done
}
