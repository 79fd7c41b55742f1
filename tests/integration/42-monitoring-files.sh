#!/usr/bin/env bash
# The monitoring files are valid and consistent, before anything runs:
# - monitoring/prometheus.yml passes `promtool check config` (also with the rules
#   directory pointed at monitoring/rules, so the rule files load), rules pass
#   `promtool check rules`;
# - every YAML file parses with libyaml without duplicate keys, every JSON file parses;
# - dashboards: every panel's and target's datasource uid is provisioned, exactly one
#   default datasource, Elasticsearch panels use the index pattern and time field the
#   consumer's index template maps (tests/tools/check_dashboards.py static);
# - manifests/shop-filebeat.yaml = manifests/shop.yaml + a filebeat service (generated
#   by tests/tools/make_filebeat_variant.py), configured so it cannot break the
#   consumer's index, and cdcctl loads it;
# - the checkers reject broken copies (so a pass means something).
source "$(dirname "$0")/../lib/common.sh"
need_cmd promtool python3
cd "$CDCCTL_ROOT"
YC=$HELPERS/yamlcheck
[ -x "$YC" ] || fail "$YC is not built (make builds build/tests/helpers/*)"
CHECK="python3 tests/tools/check_dashboards.py"
CHECKCFG="python3 tests/tools/check_monitoring_config.py"
tmp=$(mktemp -d /tmp/cdcctl-test.XXXXXX)
on_exit "rm -rf '$tmp'"

# ---- Prometheus
promtool check config monitoring/prometheus.yml >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; fail "promtool check config monitoring/prometheus.yml"; }
pass_msg "promtool check config monitoring/prometheus.yml"
mkdir -p "$tmp/rules-cfg"
sed "s#/etc/prometheus/rules#$PWD/monitoring/rules#" monitoring/prometheus.yml >"$tmp/rules-cfg/prometheus.yml"
promtool check config "$tmp/rules-cfg/prometheus.yml" >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; fail "promtool check config with monitoring/rules"; }
nrules=$(ls monitoring/rules/*.yml | wc -l)
loaded=$(grep -c "SUCCESS: .* rules found" "$tmp/out" || true)
assert_eq "rule files loaded through prometheus.yml" "$nrules" "$loaded"
promtool check rules monitoring/rules/*.yml >"$tmp/out" 2>&1 ||
    { cat "$tmp/out" >&2; fail "promtool check rules"; }
pass_msg "promtool check rules monitoring/rules/*.yml"

# ---- YAML and JSON validity
yaml_files=$(find monitoring manifests/shop-filebeat.yaml -name '*.yml' -o -name '*.yaml' | sort)
[ -n "$yaml_files" ] || fail "no YAML files found"
# shellcheck disable=SC2086
"$YC" $yaml_files || fail "invalid YAML (above)"
pass_msg "valid YAML: $(echo $yaml_files)"
json_files=$(find monitoring -name '*.json' | sort)
for f in $json_files; do
    python3 -m json.tool "$f" >/dev/null || fail "$f: invalid JSON"
done
pass_msg "valid JSON: $(echo $json_files)"

# ---- Dashboards vs datasources vs the index template
"$YC" --json monitoring/grafana/provisioning/datasources/datasources.yaml >"$tmp/ds.json" ||
    fail "datasources.yaml"
dashboards=$(ls monitoring/grafana/dashboards/*.json)
TEMPLATE=monitoring/elasticsearch/cdc-events-template.json
# shellcheck disable=SC2086
$CHECK static --datasources "$tmp/ds.json" --template "$TEMPLATE" $dashboards ||
    fail "dashboard/datasource/template consistency (above)"
pass_msg "every panel's datasource uid is provisioned; ES panels match the template"

# The provider serves the directory the manifest uploads the dashboards to.
"$YC" --json monitoring/grafana/provisioning/dashboards/dashboards.yaml >"$tmp/prov.json"
"$YC" --json manifests/shop.yaml >"$tmp/shop.json"
python3 - "$tmp/prov.json" "$tmp/shop.json" $dashboards <<'EOF' || fail "dashboard provider path vs manifest uploads"
import json, os, sys
prov = json.load(open(sys.argv[1]))[0]
paths = [p["options"]["path"].rstrip("/") for p in prov["providers"]]
graf = json.load(open(sys.argv[2]))[0]["services"]["grafana"]
uploads = {f["target"]: f.get("source", "") for f in graf.get("files", [])}
ok = True
for d in sys.argv[3:]:
    name = os.path.basename(d)
    hits = [t for t in uploads if os.path.dirname(t) in paths and os.path.basename(t) == name]
    if not hits:
        print(f"FAIL: {name} is not uploaded into a provider path {paths}", file=sys.stderr); ok = False
for t, src in uploads.items():
    if t.startswith("/etc/grafana/provisioning/") and not src.endswith(t.split("/etc/grafana/")[1]):
        print(f"FAIL: {t} uploaded from {src}", file=sys.stderr); ok = False
print("ok: dashboards are uploaded into", paths)
sys.exit(0 if ok else 1)
EOF

# ---- The shipped files reach the right services, and name them as the manifest does
"$YC" --json monitoring/prometheus.yml >"$tmp/prom.json"
python3 - "$tmp/shop.json" "$tmp/prom.json" "$tmp/ds.json" monitoring/rules/*.yml <<'EOF' || fail "monitoring files vs manifests/shop.yaml"
import json, os, re, sys
shop = json.load(open(sys.argv[1]))[0]
prom = json.load(open(sys.argv[2]))[0]
ds = json.load(open(sys.argv[3]))[0]["datasources"]
rules = sys.argv[4:]
svcs = shop["services"]
problems = []
def bad(m):
    problems.append(m); print("FAIL:", m, file=sys.stderr)
def ports(svc):
    """Container ports a service listens on: published ones and flags like --addr=0.0.0.0:N."""
    out = set()
    for p in svc.get("ports", []):
        out.add(int(str(p).split("/")[0].split(":")[-1]))
    for a in svc.get("command", []) or []:
        m = re.search(r"0\.0\.0\.0:(\d+)$", str(a))
        if m:
            out.add(int(m.group(1)))
    return out
uploads = {f["target"]: f.get("source", "") for f in svcs["prometheus"].get("files", [])}
if not uploads.get("/etc/prometheus/prometheus.yml", "").endswith("monitoring/prometheus.yml"):
    bad("prometheus.yml is not uploaded to /etc/prometheus/prometheus.yml")
for r in rules:
    t = "/etc/prometheus/rules/" + os.path.basename(r)
    if not uploads.get(t, "").endswith(r):
        bad(f"{r} is not uploaded to {t}")
    if not any(re.fullmatch(g.replace("*", "[^/]*"), t) for g in prom.get("rule_files", [])):
        bad(f"{t} is not matched by rule_files {prom.get('rule_files')}")
for job in prom["scrape_configs"]:
    for sc in job.get("static_configs", []):
        for t in sc["targets"]:
            host, port = t.rsplit(":", 1)
            if job["job_name"] == "prometheus" and host == "localhost":
                continue
            if host not in svcs:
                bad(f"job {job['job_name']}: target host {host} is not a service of shop.yaml")
            elif int(port) not in ports(svcs[host]):
                bad(f"job {job['job_name']}: {host} does not listen on {port}")
# The consumer listens where Prometheus scrapes it.
consumer = shop.get("consumer", {})
maddr = consumer.get("metrics_addr", "")
cons_target = [t for j in prom["scrape_configs"] if j["job_name"] == "cdc-consumer"
               for sc in j["static_configs"] for t in sc["targets"]]
want = f"{consumer.get('service', 'consumer')}:{maddr.rsplit(':', 1)[-1]}"
if cons_target != [want] or not maddr.startswith("0.0.0.0:"):
    bad(f"cdc-consumer targets {cons_target}, the manifest's consumer listens on {maddr}")
cmd = svcs.get(consumer.get("service", "consumer"), {}).get("command", [])
if "--metrics-addr" in cmd and cmd[cmd.index("--metrics-addr") + 1] != maddr:
    bad(f"consumer command --metrics-addr differs from consumer.metrics_addr {maddr}")
for d in ds:
    m = re.fullmatch(r"http://([^:/]+):(\d+)/?", d["url"])
    if not m or m.group(1) not in svcs or int(m.group(2)) not in ports(svcs[m.group(1)]):
        bad(f"datasource {d['name']}: {d['url']} is not a service port of shop.yaml")
if problems:
    sys.exit(1)
print("ok: prometheus.yml, rules and datasources name the manifest's services and ports")
EOF

# ---- The index template is what the consumer installs, and is safe next to Filebeat
python3 - "$TEMPLATE" <<'EOF' || fail "index template contract"
import json, sys
t = json.load(open(sys.argv[1]))
p = t["template"]["mappings"]["properties"]
want = {"@timestamp": "date", "database": "keyword", "table": "keyword", "op": "keyword",
        "type": "keyword", "topic": "keyword", "partition": "integer", "offset": "long",
        "row": "integer", "data": "flattened", "commit_ts": "keyword"}
bad = {k: p.get(k, {}).get("type") for k, v in want.items() if p.get(k, {}).get("type") != v}
assert not bad, f"field types differ from the contract: {bad}"
assert t["index_patterns"] == ["cdc-events-*"], t["index_patterns"]
assert t["priority"] > 150, "priority must beat Filebeat's 150"
assert "data_stream" not in t, "cdc-events must stay plain indices (index op)"
s = t["template"]["settings"]
assert str(s["number_of_replicas"]) == "0", "one node: replicas 0 or the index stays yellow"
print("ok: template maps", sorted(want))
EOF

# ---- Filebeat variant
"$YC" --json manifests/shop-filebeat.yaml >"$tmp/variant.json"
"$YC" --json monitoring/filebeat/filebeat.yml >"$tmp/filebeat.json"
$CHECKCFG variant "$tmp/shop.json" "$tmp/variant.json" ||
    fail "manifests/shop-filebeat.yaml drifted from manifests/shop.yaml: run tests/tools/make_filebeat_variant.py"
python3 tests/tools/make_filebeat_variant.py --check || fail "manifests/shop-filebeat.yaml is not generated from shop.yaml"
pass_msg "manifests/shop-filebeat.yaml = tests/tools/make_filebeat_variant.py output"
$CHECKCFG filebeat "$tmp/filebeat.json" "$tmp/variant.json" "$TEMPLATE" ||
    fail "filebeat configuration (above)"
[ -x "$CDCCTL" ] || fail "$CDCCTL not built"
"$CDCCTL" -f manifests/shop-filebeat.yaml config >"$tmp/resolved.yaml" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "cdcctl does not load manifests/shop-filebeat.yaml"; }
grep -q "filebeat" "$tmp/resolved.yaml" || fail "resolved variant has no filebeat service"
pass_msg "cdcctl -f manifests/shop-filebeat.yaml config"

# ---- The checkers catch broken copies
expect_reject() { # WHAT CMD...: CMD must fail
    local what=$1; shift
    if "$@" >"$tmp/neg.out" 2>&1; then
        cat "$tmp/neg.out" >&2
        fail "checker accepted $what"
    fi
    pass_msg "rejected: $what"
}
mutate() { # IN OUT PYTHON-STATEMENTS (on d)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $3; json.dump(d, open(sys.argv[2],'w'))" "$1" "$2"
}
dash=monitoring/grafana/dashboards/shop-cdc.json
mutate "$dash" "$tmp/d1.json" 'd["panels"][0]["targets"][0]["datasource"]["uid"]="PBFA97CFB590B2093"'
expect_reject "a foreign datasource uid" $CHECK static --datasources "$tmp/ds.json" --template "$TEMPLATE" "$tmp/d1.json"
mutate "$dash" "$tmp/d2.json" 'd["panels"][0]["datasource"]={"type":"prometheus","uid":"${DS_PROMETHEUS}"}'
expect_reject "an export placeholder" $CHECK static --datasources "$tmp/ds.json" --template "$TEMPLATE" "$tmp/d2.json"
mutate "$tmp/ds.json" "$tmp/ds2.json" 'd[0]["datasources"][1]["isDefault"]=True'
expect_reject "two default datasources" $CHECK static --datasources "$tmp/ds2.json" --template "$TEMPLATE" "$dash"
mutate "$tmp/ds.json" "$tmp/ds3.json" 'd[0]["datasources"][1]["jsonData"]["index"]="cdc-event-*"'
expect_reject "an ES index the template does not cover" $CHECK static --datasources "$tmp/ds3.json" --template "$TEMPLATE" "$dash"
mutate "$tmp/ds.json" "$tmp/ds4.json" 'd[0]["datasources"][0]["url"]="http://localhost:9090"'
expect_reject "a localhost datasource url" $CHECK static --datasources "$tmp/ds4.json" --template "$TEMPLATE" "$dash"
mutate "$dash" "$tmp/d5.json" '[t.update(timeField="ts") for p in d["panels"] for t in p["targets"] if p["datasource"]["type"]=="elasticsearch"]'
expect_reject "an ES panel with another time field" $CHECK static --datasources "$tmp/ds.json" --template "$TEMPLATE" "$tmp/d5.json"
mutate "$dash" "$tmp/d6.json" '[b.update(field="data") for p in d["panels"] for t in p["targets"] for b in t.get("bucketAggs",[]) if b["type"]=="terms"]'
expect_reject "terms on a field the template does not map as keyword" $CHECK static --datasources "$tmp/ds.json" --template "$TEMPLATE" "$tmp/d6.json"
mutate "$TEMPLATE" "$tmp/t1.json" 'd["template"]["mappings"]["properties"]["@timestamp"]["type"]="long"'
expect_reject "a template whose time field is not a date" $CHECK static --datasources "$tmp/ds.json" --template "$tmp/t1.json" "$dash"
mutate "$tmp/variant.json" "$tmp/v1.json" 'd[0]["services"]["kafka"]["image"]="apache/kafka:3.8.0"'
expect_reject "a variant whose kafka differs from shop.yaml" $CHECKCFG variant "$tmp/shop.json" "$tmp/v1.json"
mutate "$tmp/variant.json" "$tmp/v2.json" 'del d[0]["services"]["grafana"]'
expect_reject "a variant without grafana" $CHECKCFG variant "$tmp/shop.json" "$tmp/v2.json"
mutate "$tmp/filebeat.json" "$tmp/f1.json" 'd[0]["setup.template.enabled"]=True'
expect_reject "filebeat with its template on" $CHECKCFG filebeat "$tmp/f1.json" "$tmp/variant.json" "$TEMPLATE"
mutate "$tmp/filebeat.json" "$tmp/f2.json" 'd[0]["output.elasticsearch"]["index"]="cdc-events-%{+yyyy.MM.dd}"'
expect_reject "filebeat writing into cdc-events-*" $CHECKCFG filebeat "$tmp/f2.json" "$tmp/variant.json" "$TEMPLATE"
mutate "$tmp/variant.json" "$tmp/v3.json" 'd[0]["services"]["filebeat"]["files"][0]["mode"]="0664"'
expect_reject "a group-writable filebeat.yml" $CHECKCFG filebeat "$tmp/filebeat.json" "$tmp/v3.json" "$TEMPLATE"
printf 'apiVersion: 1\ndatasources: []\napiVersion: 1\n' >"$tmp/dup.yaml"
expect_reject "a YAML file with a duplicate key" "$YC" "$tmp/dup.yaml"
echo "monitoring files: all checks passed"
