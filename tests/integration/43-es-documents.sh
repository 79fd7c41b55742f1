#!/usr/bin/env bash
# What the consumer writes to Elasticsearch is what the dashboard's Elasticsearch panels
# and datasource query: `cdcctl consume --exit-at-eof` indexes a known canal-json set
# (tests/tools/gen_canal.py) into the Elasticsearch stand-in (tests/fakes/es_fake.py,
# which rejects what ES 8 rejects), and then:
# - the index template it installed is monitoring/elasticsearch/cdc-events-template.json;
# - every document's index matches the Grafana datasource's index pattern and the
#   template's index_patterns, and is the UTC day of its @timestamp;
# - every document's @timestamp is ISO-8601 UTC (Z) and equals the message's commit
#   time (canal es); every top-level field is mapped by the template with a matching
#   JSON type (no dynamic mapping); the fields the ES panels use are present;
# - the documents count exactly the rows fed in, by op (the numbers the Prometheus pie
#   shows, see 40-prometheus-scrape.sh).
source "$(dirname "$0")/../lib/common.sh"
need_cmd python3 curl kcat
cd "$CDCCTL_ROOT"
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
[ -x "$HELPERS/mockkafka" ] || fail "$HELPERS/mockkafka not built"
[ -x "$HELPERS/yamlcheck" ] || fail "$HELPERS/yamlcheck not built"
[ -f tests/fakes/es_fake.py ] || fail "tests/fakes/es_fake.py missing"
TOPIC=shop-db-data-changes
tmp=$(mktemp -d /tmp/cdcctl-test.XXXXXX)
on_exit "rm -rf '$tmp'"
WORK=$tmp
source "$CDCCTL_ROOT/tests/lib/consume.sh"
mk_start -t "$TOPIC:3"
es_start

python3 tests/tools/gen_canal.py "$tmp" 1 || fail "gen_canal.py"
for p in 0 1 2; do
    kcat -P -b "$BROKERS" -t "$TOPIC" -p "$p" <"$tmp/p$p.batch1" 2>>"$tmp/kcat.err" ||
        { cat "$tmp/kcat.err" >&2; fail "kcat could not produce to partition $p"; }
done

rc=0
timeout 60 "$CDCCTL" consume --brokers "$BROKERS" --topic "$TOPIC" --group es-docs-test \
    --metrics-addr 127.0.0.1:0 --es-url "$ES_URL" --es-batch-ms 200 \
    --exit-at-eof -X session.timeout.ms=6000 >"$tmp/consume.out" 2>"$tmp/consume.err" || rc=$?
[ "$rc" = 0 ] || { tail -n 30 "$tmp/consume.err" >&2; fail "cdcctl consume --exit-at-eof exited $rc"; }
pass_msg "cdcctl consume --exit-at-eof indexed the batch"

curl -fsS "$ES_CTL/_fake/docs" >"$tmp/docs.json" || fail "es_fake docs"
curl -fsS "$ES_CTL/_fake/stats" >"$tmp/stats.json" || fail "es_fake stats"
"$HELPERS/yamlcheck" --json monitoring/grafana/provisioning/datasources/datasources.yaml >"$tmp/ds.json"
cat "$tmp"/p{0,1,2}.batch1 >"$tmp/messages.ndjson"

python3 - "$tmp/docs.json" "$tmp/stats.json" "$tmp/ds.json" \
    monitoring/elasticsearch/cdc-events-template.json monitoring/grafana/dashboards/shop-cdc.json \
    "$tmp/messages.ndjson" <<'EOF' || fail "documents vs template / datasource / dashboard (above)"
import collections, datetime, json, re, sys
docs = json.load(open(sys.argv[1]))["docs"]
stats = json.load(open(sys.argv[2]))
ds = [d for d in json.load(open(sys.argv[3]))[0]["datasources"] if d["type"] == "elasticsearch"][0]
template = json.load(open(sys.argv[4]))
dash = json.load(open(sys.argv[5]))
es_times = set()
for line in open(sys.argv[6]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if isinstance(m, dict) and m.get("type") != "TIDB_WATERMARK" and "es" in m:
        es_times.add(m["es"])
problems = []
def bad(msg):
    problems.append(msg); print("FAIL:", msg, file=sys.stderr)
def glob(p, s):
    return re.match("^" + ".*".join(re.escape(x) for x in p.split("*")) + "$", s) is not None

installed = list(stats["templates"].values())
if len(installed) != 1:
    bad(f"expected one index template installed, got {list(stats['templates'])}")
elif installed[0] != template:
    bad("the installed template differs from monitoring/elasticsearch/cdc-events-template.json")

props = template["template"]["mappings"]["properties"]
json_types = {"date": str, "keyword": str, "text": str, "integer": int, "long": int,
              "flattened": dict}
tf = ds["jsonData"]["timeField"]
panel_fields = {tf}
for p in dash["panels"]:
    if p["datasource"]["type"] == "elasticsearch":
        for t in p["targets"]:
            panel_fields |= {b["field"] for b in t.get("bucketAggs", []) if b.get("field")}
ops = collections.Counter()
for d in docs:
    src, index = d["source"], d["_index"]
    if not glob(ds["jsonData"]["index"], index):
        bad(f"{index}: not matched by the datasource index {ds['jsonData']['index']}")
    if not any(glob(p, index) for p in template["index_patterns"]):
        bad(f"{index}: not covered by the template")
    ts = src.get(tf)
    if not isinstance(ts, str) or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", ts):
        bad(f"{d['_id']}: {tf} {ts!r} is not ISO-8601 UTC")
        continue
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    ms = round(t.timestamp() * 1000)
    if ms not in es_times:
        bad(f"{d['_id']}: {tf} {ts} is not the commit time (es) of any message fed in")
    if index != "cdc-events-" + t.strftime("%Y.%m.%d"):
        bad(f"{d['_id']}: index {index} is not the UTC day of {ts}")
    for k, v in src.items():
        if k not in props:
            bad(f"{d['_id']}: field {k!r} is not in the template (would be mapped dynamically)")
        elif v is not None and not isinstance(v, json_types.get(props[k]["type"], object)):
            bad(f"{d['_id']}: field {k}={v!r} does not fit the mapping {props[k]['type']}")
    missing = panel_fields - set(src)
    if missing:
        bad(f"{d['_id']}: lacks {sorted(missing)} used by the Elasticsearch panels")
    if d["writes"] != 1:
        bad(f"{d['_id']}: written {d['writes']} times")
    ops[src.get("op")] += 1
want = {"insert": 8, "update": 3, "delete": 1, "ddl": 2}
if dict(ops) != want:
    bad(f"documents by op {dict(ops)} != fed {want}")
if problems:
    sys.exit(1)
print(f"ok: {len(docs)} documents in {sorted({d['_index'] for d in docs})}, by op {dict(ops)}; "
      f"fields {sorted(panel_fields)} present, every field mapped by the template")
EOF
echo "es documents: all checks passed"
