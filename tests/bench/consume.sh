#!/usr/bin/env bash
# Consumer benchmark (`make bench`): `cdcctl consume --no-es --exit-at-eof` (full
# canal-json decode, metrics, CDC_EVENT lines to /dev/null) against kcat's raw
# consumption of the same topic in group mode (`kcat -G ... -e`), in the same run,
# on librdkafka's mock cluster. Both pay the same group join; speed is compared in
# CPU seconds (user+sys, from wait4's rusage in microseconds: GNU time prints only
# hundredths, ±5% at these run times) per message, as DESIGN.md says, and also
# shown per wall-clock second. Memory: peak RSS (/usr/bin/time %M; a python parent
# would add its own RSS to the child's maxrss), and the private (anonymous) part
# of it sampled from /proc.
#
#   BENCH_MESSAGES (default 300000), BENCH_PARTITIONS (48), BENCH_ROUNDS (5)
#
# Rounds alternate kcat and cdcctl; each side's median round is compared, and the
# fastest and slowest rounds are printed beside it (on a small VM the same command
# varies by 20% or more from run to run, mostly in librdkafka's fetch threads).
#
# The mock keeps at most 5 MiB per partition, so messages (~350 bytes) are spread
# over enough partitions. Targets: >= 80% of kcat's message rate, < 20 MB resident.
. "$(dirname "$0")/../lib/common.sh"
. "$CDCCTL_ROOT/tests/lib/consume.sh"
need_helpers
need_cmd kcat
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (Debian package 'time')"
N=${BENCH_MESSAGES:-300000}
P=${BENCH_PARTITIONS:-48}
ROUNDS=${BENCH_ROUNDS:-5}
[ $((N * 400 / P)) -lt $((5 * 1024 * 1024)) ] || fail "$N messages over $P partitions exceed the mock's 5 MiB per partition"

mk_start -t "bench:$P"
"$HELPERS/canal_produce" -b "$BROKERS" -t bench -p "$P" --tables "$P" -n "$N" >"$WORK/produce.out" ||
    fail "canal_produce"
bytes=$(kcat -b "$BROKERS" -C -t bench -p 0 -c 1 -e -q | wc -c)
echo "topic bench: $N canal-json messages (about $((bytes - 1)) bytes each) in $P partitions"

X=(-X session.timeout.ms=6000)
KCAT=(kcat -b "$BROKERS" -e -q -X session.timeout.ms=6000 -X auto.offset.reset=earliest)
CDC=("$CDCCTL" consume --brokers "$BROKERS" --topic bench --no-es --exit-at-eof --metrics-addr 127.0.0.1:0 "${X[@]}")

# Warm-up and correctness: both read every message once.
got=$("${KCAT[@]}" -G bench-kcat-check bench | wc -l)
assert_eq "kcat -G -e read" "$N" "$got"
got=$("${CDC[@]}" --group bench-cdcctl-check 2>"$WORK/check.err" | grep -c '^CDC_EVENT ')
assert_eq "cdcctl consume --exit-at-eof logged" "$N" "$got"
grep -q "stopped: $N messages, $N CDC_EVENT lines, 0 undecodable" "$WORK/check.err" || fail "$(tail -2 "$WORK/check.err")"

# TIMER OUT CMD...: runs `/usr/bin/time -f %M CMD` and writes "wall user sys
# maxrss_kb anon_kb" to OUT: wall and CPU (of time and CMD; time's own is a
# fraction of a millisecond) from wait4, the peak RSS of CMD from time, and the
# peak private (anonymous) part of it sampled from /proc every 50 ms by this same
# process (no helper processes that would compete for the two cores).
TIMER='
import os, sys, time
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv("/usr/bin/time", ["time", "-f", "%M", "-o", sys.argv[1] + ".rss"] + sys.argv[2:])
anon = 0
while True:
    wpid, status, ru = os.wait4(pid, os.WNOHANG)
    if wpid:
        break
    try:
        child = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        if child:
            for line in open("/proc/%s/status" % child[0]):
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.05)
rss = open(sys.argv[1] + ".rss").read().split()[-1]
with open(sys.argv[1], "w") as f:
    f.write("%.3f %.6f %.6f %s %d\n" % (time.monotonic() - t0, ru.ru_utime, ru.ru_stime, rss, anon))
sys.exit(os.waitstatus_to_exitcode(status))
'

# run NAME CMD...: one timed run; appends "wall user sys maxrss_kb anon_kb" to $WORK/NAME.
run() {
    local name=$1
    shift
    python3 -c "$TIMER" "$WORK/time.out" "$@" >/dev/null 2>>"$WORK/$name.err" ||
        fail "$name run failed: $(tail -3 "$WORK/$name.err")"
    cat "$WORK/time.out" >>"$WORK/$name"
}
for r in $(seq 1 "$ROUNDS"); do
    run kcat "${KCAT[@]}" -G "bench-kcat-$r" bench
    run cdcctl "${CDC[@]}" --group "bench-cdcctl-$r"
done

python3 - "$N" "$WORK/kcat" "$WORK/cdcctl" <<'EOF'
import statistics, sys
n = int(sys.argv[1])
res = {}
for name, path in (("kcat -G", sys.argv[2]), ("cdcctl consume", sys.argv[3])):
    runs = [list(map(float, l.split())) for l in open(path) if l.strip()]
    runs.sort(key=lambda r: r[1] + r[2])          # median by CPU time
    wall, user, sys_, rss, anon = runs[len(runs) // 2]
    cpu = user + sys_
    res[name] = dict(wall=wall, cpu=cpu, us=cpu / n * 1e6, rate_cpu=n / cpu if cpu else 0,
                     rate_wall=n / wall, rss=rss / 1024, anon=anon / 1024,
                     rss_max=max(r[3] for r in runs) / 1024,
                     us_min=(runs[0][1] + runs[0][2]) / n * 1e6,
                     us_max=(runs[-1][1] + runs[-1][2]) / n * 1e6)
print()
print("%-16s %8s %8s %10s %14s %14s %9s %10s" % ("", "wall s", "CPU s", "CPU us/msg", "msgs/CPU-s",
                                                 "msgs/wall-s", "RSS MB", "anon MB"))
for name, r in res.items():
    print("%-16s %8.2f %8.3f %10.2f %14.0f %14.0f %9.1f %10.1f" % (
        name, r["wall"], r["cpu"], r["us"], r["rate_cpu"], r["rate_wall"], r["rss"], r["anon"]))
k, c = res["kcat -G"], res["cdcctl consume"]
ratio = k["us"] / c["us"]
print()
print("median of %d rounds; wall time includes the group join (~3 s on the mock) for both" % (
    len(open(sys.argv[2]).read().split("\n")) - 1))
for name, r in res.items():
    print("%-16s CPU us/msg over the rounds: fastest %.2f, median %.2f, slowest %.2f"
          % (name, r["us_min"], r["us"], r["us_max"]))
print("cdcctl message rate vs kcat (CPU per message): %.0f%% (target >= 80%%): %s"
      % (ratio * 100, "met" if ratio >= 0.8 else "MISSED"))
print("cdcctl rows per wall second vs kcat: %.0f%%" % (c["rate_wall"] / k["rate_wall"] * 100))
print("cdcctl peak RSS %.1f MB, of it private (anonymous) %.1f MB (target < 20 MB): %s"
      % (c["rss_max"], c["anon"], "met" if c["rss_max"] < 20 else "MISSED"))
EOF
