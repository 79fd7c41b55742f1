#!/usr/bin/env python3
"""Checks the provisioned Grafana dashboards against the provisioned datasources, the
Elasticsearch index template, and a running Prometheus.

  check_dashboards.py static --datasources DS.json --template TEMPLATE.json DASHBOARD.json...
      DS.json is the datasources provisioning YAML converted to JSON (yamlcheck --json).
      Checks: valid dashboards (uid, title, unique panel ids, no export placeholders);
      every panel's and target's datasource uid exists among the provisioned ones with
      the same type; exactly one default datasource; no localhost URLs; Elasticsearch
      panels use the datasource's index pattern and time field, which the template maps
      (index pattern covered by the template, time field a date, aggregated fields
      mapped with a type that supports the aggregation).

  check_dashboards.py queries --prometheus URL [--time T] [--range 10m] [--interval 1s]
                      [--rate-interval 4s] [--expect EXPECT.json] DASHBOARD.json...
      Evaluates every Prometheus expression of every panel through /api/v1/query (and
      /api/v1/query_range for range targets) after substituting Grafana's variables;
      each must parse and evaluate (status success). EXPECT.json maps a panel title to
      {"refId": "A", "labels": ["op"], "values": {"insert": 5, ...}}: the instant result
      of that target, keyed by the listed labels' values joined with ",", must equal
      the values exactly (same keys, same numbers).

  check_dashboards.py exprs DASHBOARD.json...
      Prints "title<TAB>refId<TAB>expr" for every Prometheus target.
Exit status 0 when every check passed, 1 otherwise; one line per problem on stderr.
"""
import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BUILTIN_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}

problems = []


def problem(msg):
    problems.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def panels_of(dash):
    """All panels, including those nested in (collapsed) rows."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        problem(f"{path}: not valid JSON: {e}")
        return None


def ds_ref(obj):
    """(type, uid) of a datasource reference, or None."""
    ds = obj.get("datasource")
    if ds is None:
        return None
    if isinstance(ds, str):
        return ("?", ds)  # legacy name reference: Grafana resolves it by name
    return (ds.get("type"), ds.get("uid"))


# ---------------------------------------------------------------- static checks

def mapping_properties(template):
    props = {}

    def walk(prefix, node):
        for name, spec in node.get("properties", {}).items():
            full = prefix + name
            props[full] = spec
            for sub, subspec in spec.get("fields", {}).items():
                props[full + "." + sub] = subspec
            walk(full + ".", spec)
    walk("", template.get("template", {}).get("mappings", {}))
    return props


def glob_covers(patterns, index):
    """True when an index name pattern like cdc-events-* is covered by a template pattern."""
    for p in patterns:
        rx = "^" + ".*".join(re.escape(part) for part in p.split("*")) + "$"
        if re.match(rx, index.replace("*", "x")):
            return True
    return False


AGG_TYPES = {"terms": {"keyword", "integer", "long", "short", "byte", "boolean", "ip",
                       "constant_keyword"},
             "date_histogram": {"date", "date_nanos"},
             "histogram": {"integer", "long", "short", "byte", "float", "double",
                           "half_float", "scaled_float"}}
METRIC_TYPES = {"avg", "sum", "min", "max", "extended_stats", "percentiles", "cardinality",
                "rate", "top_metrics"}


def check_static(args):
    doc = load_json(args.datasources)
    template = load_json(args.template)
    if doc is None or template is None:
        return
    docs = doc if isinstance(doc, list) else [doc]
    datasources = []
    for d in docs:
        if not isinstance(d, dict) or d.get("apiVersion") != 1:
            problem(f"{args.datasources}: provisioning document without apiVersion: 1")
            continue
        datasources.extend(d.get("datasources") or [])
    by_uid = {}
    defaults = [d.get("name") for d in datasources if d.get("isDefault") is True]
    if len(defaults) != 1:
        problem(f"datasources: exactly one isDefault: true expected (Grafana refuses to start "
                f"with two), found {len(defaults)}: {defaults}")
    for d in datasources:
        uid, name = d.get("uid"), d.get("name")
        if not uid:
            problem(f"datasource {name}: no fixed uid (dashboards could not reference it)")
            continue
        if uid in by_uid:
            problem(f"datasource uid {uid} used twice")
        by_uid[uid] = d
        url = str(d.get("url", ""))
        if re.search(r"//(localhost|127\.|\[::1\])", url) and d.get("access", "proxy") == "proxy":
            problem(f"datasource {name}: url {url} points at the Grafana container itself")
        if "$" in uid:
            problem(f"datasource {name}: uid {uid} contains a variable")
    names = [d.get("name") for d in datasources]
    if len(names) != len(set(names)):
        problem(f"datasource names not unique: {names}")

    patterns = template.get("index_patterns", [])
    props = mapping_properties(template)
    if template.get("priority", 0) <= 150:
        problem("index template priority must be above 150 (Filebeat's data-stream templates)")
    es_sources = {uid: d for uid, d in by_uid.items() if d.get("type") == "elasticsearch"}
    for uid, d in es_sources.items():
        jd = d.get("jsonData", {})
        index = jd.get("index") or d.get("database")
        tf = jd.get("timeField", "@timestamp")
        if not index or not glob_covers(patterns, index):
            problem(f"datasource {uid}: index {index!r} is not covered by the template's "
                    f"index_patterns {patterns}")
        if props.get(tf, {}).get("type") not in ("date", "date_nanos"):
            problem(f"datasource {uid}: timeField {tf!r} is not mapped as a date in the template")

    seen_dash_uids = set()
    for path in args.dashboards:
        dash = load_json(path)
        if dash is None:
            continue
        text = open(path, encoding="utf-8").read()
        if "__inputs" in dash or "${DS_" in text:
            problem(f"{path}: export placeholders (__inputs / ${{DS_...}}) are never resolved "
                    f"by provisioning")
        for key in ("uid", "title", "panels", "schemaVersion"):
            if key not in dash:
                problem(f"{path}: no {key}")
        if dash.get("uid") in seen_dash_uids:
            problem(f"{path}: dashboard uid {dash.get('uid')} used twice")
        seen_dash_uids.add(dash.get("uid"))
        ids = [p.get("id") for p in panels_of(dash)]
        if len(ids) != len(set(ids)) or None in ids:
            problem(f"{path}: panel ids missing or not unique: {ids}")
        for a in dash.get("annotations", {}).get("list", []):
            ref = ds_ref(a)
            if ref and ref[1] not in BUILTIN_UIDS and ref[1] not in by_uid:
                problem(f"{path}: annotation {a.get('name')}: unknown datasource uid {ref[1]}")
        for v in dash.get("templating", {}).get("list", []):
            ref = ds_ref(v)
            if ref and ref[1] not in by_uid and not str(ref[1]).startswith("$"):
                problem(f"{path}: variable {v.get('name')}: unknown datasource uid {ref[1]}")
        for p in panels_of(dash):
            check_panel(path, p, by_uid, es_sources, props)


def check_panel(path, p, by_uid, es_sources, props):
    title = f"{path}: panel {p.get('title')!r}"
    if p.get("type") == "row":
        return
    pref = ds_ref(p)
    if pref is None:
        problem(f"{title}: no datasource (would silently use whatever is default)")
        return
    for obj, what in [(p, "panel")] + [(t, "target " + str(t.get("refId")))
                                        for t in p.get("targets", [])]:
        ref = ds_ref(obj) or pref
        typ, uid = ref
        if uid in BUILTIN_UIDS and typ in ("grafana", "datasource"):
            continue
        d = by_uid.get(uid)
        if d is None:
            problem(f"{title}: {what}: datasource uid {uid!r} is not provisioned "
                    f"(known: {sorted(by_uid)})")
            continue
        if typ != "?" and typ != d.get("type"):
            problem(f"{title}: {what}: datasource {uid} has type {d.get('type')}, "
                    f"panel says {typ}")
    if not p.get("targets"):
        problem(f"{title}: no targets")
    for t in p.get("targets", []):
        uid = (ds_ref(t) or pref)[1]
        d = by_uid.get(uid, {})
        if d.get("type") == "prometheus":
            if not str(t.get("expr", "")).strip():
                problem(f"{title}: target {t.get('refId')}: empty expr")
        elif d.get("type") == "elasticsearch":
            check_es_target(title, t, es_sources[uid], props)


def check_es_target(title, t, ds, props):
    jd = ds.get("jsonData", {})
    tf = jd.get("timeField", "@timestamp")
    if t.get("timeField", tf) != tf:
        problem(f"{title}: timeField {t.get('timeField')!r} differs from the datasource's {tf!r}")
    if "index" in t and t["index"] != jd.get("index"):
        problem(f"{title}: index {t['index']!r} differs from the datasource's {jd.get('index')!r}")
    for m in t.get("metrics", []):
        for k, v in (m.get("settings") or {}).items():
            if not isinstance(v, (str, list, dict)):
                problem(f"{title}: metric {m.get('type')} setting {k} must be a string")
        if m.get("type") in METRIC_TYPES and m.get("field"):
            typ = props.get(m["field"], {}).get("type")
            if typ is None:
                problem(f"{title}: metric field {m['field']!r} is not in the template mapping")
    for b in t.get("bucketAggs", []):
        for k, v in (b.get("settings") or {}).items():
            if not isinstance(v, (str, list, dict)):
                problem(f"{title}: bucket {b.get('type')} setting {k} must be a string")
        field = b.get("field")
        if not field:
            continue
        typ = props.get(field, {}).get("type")
        allowed = AGG_TYPES.get(b.get("type"))
        if typ is None:
            problem(f"{title}: bucket field {field!r} is not in the template mapping")
        elif allowed and typ not in allowed:
            problem(f"{title}: {b.get('type')} on {field!r} needs one of {sorted(allowed)}, "
                    f"the template maps {typ}")
        if b.get("type") == "date_histogram" and field != tf:
            problem(f"{title}: date_histogram on {field!r}, the time field is {tf!r}")


# ---------------------------------------------------------------- Prometheus queries

def duration_seconds(d):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", d)
    if not m:
        raise ValueError(f"bad duration {d}")
    n, unit = int(m.group(1)), m.group(2)
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def substitute(expr, dash, args):
    rng = duration_seconds(args.range)
    values = {
        "__range": args.range, "__range_s": str(int(rng)), "__range_ms": str(int(rng * 1000)),
        "__rate_interval": args.rate_interval, "__interval": args.interval,
        "__interval_ms": str(int(duration_seconds(args.interval) * 1000)),
        "__rate_interval_ms": str(int(duration_seconds(args.rate_interval) * 1000)),
    }
    for v in dash.get("templating", {}).get("list", []):
        cur = (v.get("current") or {}).get("value")
        if isinstance(cur, list):
            cur = cur[0] if cur else ""
        if cur in (None, "$__all"):
            cur = v.get("allValue") or ".*"
        values[v.get("name")] = str(cur)

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))
    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", repl, expr)
    left = re.findall(r"\$\{?\w+|\[\[\w+\]\]", out)
    return out, left


def prom_get(url, path, params):
    q = urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(f"{url}{path}?{q}", timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}
    except (OSError, ValueError) as e:
        return {"status": "error", "error": str(e)}


def check_queries(args):
    expect = {}
    if args.expect:
        expect = load_json(args.expect) or {}
    at = args.time if args.time is not None else time.time()
    seen_titles = set()
    for path in args.dashboards:
        dash = load_json(path)
        if dash is None:
            continue
        for p in panels_of(dash):
            for t in p.get("targets", []):
                typ = (ds_ref(t) or ds_ref(p) or ("?", ""))[0]
                if typ != "prometheus" or "expr" not in t:
                    continue
                name = f"{p.get('title')!r}/{t.get('refId')}"
                expr, left = substitute(t["expr"], dash, args)
                if left:
                    problem(f"{name}: unsubstituted variables {left} in {expr}")
                    continue
                res = prom_get(args.prometheus, "/api/v1/query", {"query": expr, "time": at})
                if res.get("status") != "success":
                    problem(f"{name}: instant query failed: {res.get('error')} :: {expr}")
                    continue
                n = len(res["data"]["result"]) if isinstance(res["data"]["result"], list) else 1
                # Grafana runs range targets as range queries; evaluate every one both ways.
                step = max(duration_seconds(args.interval), 1)
                rr = prom_get(args.prometheus, "/api/v1/query_range",
                              {"query": expr, "start": at - duration_seconds(args.range),
                               "end": at, "step": step})
                if rr.get("status") != "success":
                    problem(f"{name}: range query failed: {rr.get('error')} :: {expr}")
                    continue
                print(f"ok: {name}: parses and evaluates ({n} series now)")
                e = expect.get(p.get("title"))
                if e and e.get("refId", "A") == t.get("refId"):
                    seen_titles.add(p.get("title"))
                    compare(name, res["data"]["result"], e)
    for title in expect:
        if title not in seen_titles:
            problem(f"expected results for panel {title!r}, which has no such Prometheus target")


def compare(name, result, e):
    got = {}
    for s in result:
        key = ",".join(s["metric"].get(lbl, "") for lbl in e.get("labels", []))
        if key in got:
            problem(f"{name}: two series for {e.get('labels')}={key!r}")
        got[key] = float(s["value"][1])
    want = {k: float(v) for k, v in e["values"].items()}
    if set(got) != set(want) or any(abs(got[k] - want[k]) > 1e-9 for k in want):
        problem(f"{name}: expected {want}, Prometheus returned {got}")
    else:
        print(f"ok: {name}: exactly {want}")


def list_exprs(args):
    for path in args.dashboards:
        dash = load_json(path)
        for p in panels_of(dash or {}):
            for t in p.get("targets", []):
                if "expr" in t:
                    print(f"{p.get('title')}\t{t.get('refId')}\t{t['expr']}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("static")
    s.add_argument("--datasources", required=True)
    s.add_argument("--template", required=True)
    s.add_argument("dashboards", nargs="+")
    q = sub.add_parser("queries")
    q.add_argument("--prometheus", required=True)
    q.add_argument("--time", type=float)
    q.add_argument("--range", default="10m")
    q.add_argument("--interval", default="1s")
    q.add_argument("--rate-interval", default="4s")
    q.add_argument("--expect")
    q.add_argument("dashboards", nargs="+")
    e = sub.add_parser("exprs")
    e.add_argument("dashboards", nargs="+")
    args = ap.parse_args()
    {"static": check_static, "queries": check_queries, "exprs": list_exprs}[args.cmd](args)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
