#!/usr/bin/env python3
"""consume_check: the independent oracle of the consumer's integration tests.

It computes what `cdcctl consume` must produce from canal_produce's --report
(one line per delivered message: "P O KIND LINES [database table op | path]") and
the corpus files themselves (parsed here with Python's json module, not with
cdcctl's decoder), then checks the consumer's output against it:

  consume_check.py lines TOPIC REPORT... -- OUT...     CDC_EVENT lines in the OUT files:
        every expected (partition, offset, row) exactly once, with the right
        database, table, op, type, data (parsed and compared as JSON) and sql;
        nothing else
  consume_check.py metrics TOPIC REPORT... -- URL...   /metrics of one or more
        consumers (summed): db_changes_total per (database, table, op) exactly,
        no other series; cdc_messages_total; cdc_decode_errors_total;
        cdc_end_to_end_delay_seconds_count (one per change message with an es)
  consume_check.py esdocs TOPIC PREFIX REPORT... -- DOCS_JSON [--except IDS_FILE]
        documents from es_fake's /_fake/docs: exactly the expected _ids (minus the
        ones listed in IDS_FILE), each in PREFIX-YYYY.MM.DD of its commit time,
        with the right fields
  consume_check.py counts REPORT...                     prints the expected totals
  consume_check.py ids TOPIC REPORT...                  prints the expected _ids

A line of a report for a generated message names database, table and op; for a
corpus file it names the file, which is read and interpreted here. Exits 1 with
a message on the first mismatch.
"""
import collections
import datetime
import json
import sys
import urllib.request


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def expected(reports):
    """-> (lines {(p, o, row): dict}, counts {(db, table, op): n}, totals dict)"""
    lines = {}
    counts = collections.Counter()
    tot = collections.Counter()
    for rep in reports:
        for raw in open(rep):
            f = raw.split()
            if not f:
                continue
            p, o, kind, n = int(f[0]), int(f[1]), f[2], int(f[3])
            tot["messages"] += 1
            if kind == "dml":
                db, table, op = f[4], f[5], f[6]
                lines[(p, o, 0)] = {"database": db, "table": table, "op": op, "type": op.upper(),
                                    "data": "generated"}
                counts[(db, table, op)] += 1
                tot["changes_msgs"] += 1
                tot["delay_obs"] += 1
            elif kind == "ddl":
                db, table = f[4], "" if f[5] == '""' else f[5]
                lines[(p, o, 0)] = {"database": db, "table": table, "op": "ddl", "type": None,
                                    "data": None, "sql": "generated"}
                counts[(db, table, "ddl")] += 1
                tot["changes_msgs"] += 1
                tot["delay_obs"] += 1
            elif kind == "watermark":
                tot["watermarks"] += 1
            elif kind == "bad":
                tot["bad"] += 1
            elif kind == "file":
                path = f[4]
                data = open(path, "rb").read()
                if "/malformed/" in path:
                    tot["bad"] += 1
                    continue
                m = json.loads(data)
                if m["isDdl"]:
                    lines[(p, o, 0)] = {"database": m["database"] or "", "table": m["table"] or "",
                                        "op": "ddl", "type": m["type"], "data": None,
                                        "sql": m["sql"] or "", "es": m.get("es")}
                    counts[(m["database"] or "", m["table"] or "", "ddl")] += 1
                    tot["changes_msgs"] += 1
                    tot["delay_obs"] += 1 if m.get("es") else 0
                elif m["type"] == "TIDB_WATERMARK":
                    tot["watermarks"] += 1
                else:
                    op = m["type"].lower()
                    for i, row in enumerate(m["data"]):
                        lines[(p, o, i)] = {"database": m["database"], "table": m["table"], "op": op,
                                            "type": m["type"], "data": row, "es": m.get("es")}
                    counts[(m["database"], m["table"], op)] += len(m["data"])
                    tot["changes_msgs"] += 1
                    tot["delay_obs"] += 1 if m.get("es") else 0
            else:
                fail("%s: unknown kind %s" % (rep, kind))
    tot["lines"] = len(lines)
    return lines, counts, tot


def split_args(argv):
    if "--" not in argv:
        fail("usage: see the module docstring")
    i = argv.index("--")
    return argv[:i], argv[i + 1:]


def parse_value(s, i):
    """A name: a JSON string or a bare word up to the next space."""
    if s[i] == '"':
        v, end = json.JSONDecoder().raw_decode(s, i)
        return v, end
    end = s.find(" ", i)
    end = len(s) if end < 0 else end
    return s[i:end], end


def parse_line(line, where):
    if not line.startswith("CDC_EVENT "):
        fail("%s: not a CDC_EVENT line: %r" % (where, line[:200]))
    s, i, out = line, len("CDC_EVENT "), {}
    for key in ("topic", "partition", "offset", "database", "table", "op", "type", "data"):
        if not s.startswith(key + "=", i):
            fail("%s: expected %s= at column %d: %r" % (where, key, i, line[:300]))
        i += len(key) + 1
        if key == "data":
            v, i = json.JSONDecoder().raw_decode(s, i)
        else:
            v, i = parse_value(s, i)
        out[key] = v
        if i < len(s) and s[i] == " ":
            i += 1
    if s.startswith("sql=", i):
        out["sql"], i = json.JSONDecoder().raw_decode(s, i + 4)
    if i != len(s):
        fail("%s: trailing text at column %d: %r" % (where, i, line[i:i + 80]))
    return out


def cmd_lines(argv):
    topic = argv[0]
    reports, outs = split_args(argv[1:])
    want, _, _ = expected(reports)
    seen = {}
    for path in outs:
        for n, raw in enumerate(open(path, encoding="utf-8", errors="strict"), 1):
            line = raw.rstrip("\n")
            if not line.startswith("CDC_EVENT "):
                continue
            where = "%s:%d" % (path, n)
            got = parse_line(line, where)
            if got["topic"] != topic:
                fail("%s: topic %s, want %s" % (where, got["topic"], topic))
            p, o = int(got["partition"]), int(got["offset"])
            row = 0
            while (p, o, row) in seen:
                row += 1
            key = (p, o, row)
            if key not in want:
                fail("%s: unexpected line for partition %d offset %d (row %d): %s" % (where, p, o, row, line[:200]))
            seen[key] = where
            w = want[key]
            for k in ("database", "table", "op"):
                if got[k] != w[k]:
                    fail("%s: %s=%r, want %r" % (where, k, got[k], w[k]))
            if w.get("type") and got["type"] != w["type"]:
                fail("%s: type=%r, want %r" % (where, got["type"], w["type"]))
            if w["op"] == "ddl":
                if got["data"] is not None or "sql" not in got:
                    fail("%s: a DDL line needs data=null and sql=" % where)
                if w["sql"] != "generated" and got["sql"] != w["sql"]:
                    fail("%s: sql=%r, want %r" % (where, got["sql"], w["sql"]))
                if w["type"] is None and got["type"] not in (
                        "CREATE", "ALTER", "ERASE", "TRUNCATE", "RENAME", "CINDEX", "DINDEX", "QUERY"):
                    fail("%s: type=%r is not a DDL type" % (where, got["type"]))
            else:
                if w["data"] == "generated":
                    if not isinstance(got["data"], dict) or "id" not in got["data"]:
                        fail("%s: data is not a generated row: %r" % (where, got["data"]))
                elif got["data"] != w["data"]:
                    fail("%s: data=%r, want %r" % (where, got["data"], w["data"]))
                if "sql" in got:
                    fail("%s: sql= on a DML line" % where)
    missing = sorted(set(want) - set(seen))
    if missing:
        fail("%d expected lines missing, e.g. partition/offset/row %s" % (len(missing), missing[:5]))
    print("ok: %d CDC_EVENT lines, each expected row exactly once with the right fields" % len(seen))


def scrape(url):
    samples = {}
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def labels(name):
    body = name[name.index("{") + 1:name.rindex("}")]
    out, i = {}, 0
    while i < len(body):
        eq = body.index("=", i)
        key = body[i:eq]
        v, end = json.JSONDecoder().raw_decode(body, eq + 1)
        out[key] = v
        i = end + 1 if end < len(body) and body[end] == "," else end
    return out


def cmd_metrics(argv):
    topic = argv[0]
    reports, urls = split_args(argv[1:])
    _, counts, tot = expected(reports)
    got = collections.Counter()
    msgs = errs = delay = 0.0
    for url in urls:
        for name, v in scrape(url).items():
            if name.startswith("db_changes_total{"):
                lb = labels(name)
                got[(lb.get("database", ""), lb["table"], lb["op"])] += v
            elif name == 'cdc_messages_total{topic="%s"}' % topic:
                msgs += v
            elif name == 'cdc_decode_errors_total{topic="%s"}' % topic:
                errs += v
            elif name == "cdc_end_to_end_delay_seconds_count":
                delay += v
    for key in sorted(set(counts) | set(got)):
        if got.get(key, 0) != counts.get(key, 0):
            fail("db_changes_total{database=%r,table=%r,op=%r} = %s, want %s"
                 % (key[0], key[1], key[2], got.get(key, 0), counts.get(key, 0)))
    if msgs != tot["messages"]:
        fail("cdc_messages_total = %s, want %d" % (msgs, tot["messages"]))
    if errs != tot["bad"]:
        fail("cdc_decode_errors_total = %s, want %d" % (errs, tot["bad"]))
    if delay != tot["delay_obs"]:
        fail("cdc_end_to_end_delay_seconds_count = %s, want %d (changes with a commit time)"
             % (delay, tot["delay_obs"]))
    print("ok: %d db_changes_total series exact, messages %d, decode errors %d, delay observations %d"
          % (len(counts), tot["messages"], tot["bad"], tot["delay_obs"]))


def expected_ids(topic, reports):
    lines, _, _ = expected(reports)
    return {"%s-%d-%d-%d" % (topic, p, o, r): w for (p, o, r), w in lines.items()}


def cmd_esdocs(argv):
    topic, prefix = argv[0], argv[1]
    reports, rest = split_args(argv[2:])
    docs = json.load(open(rest[0]))["docs"]
    skip = set()
    if len(rest) > 2 and rest[1] == "--except":
        skip = set(open(rest[2]).read().split())
    want = expected_ids(topic, reports)
    for i in skip:
        want.pop(i, None)
    got = {}
    for d in docs:
        if d["_id"] in got:
            fail("_id %s stored in two indices: %s and %s" % (d["_id"], got[d["_id"]]["_index"], d["_index"]))
        got[d["_id"]] = d
    extra = sorted(set(got) - set(want))
    missing = sorted(set(want) - set(got))
    if extra:
        fail("%d unexpected documents, e.g. %s" % (len(extra), extra[:5]))
    if missing:
        fail("%d documents missing, e.g. %s" % (len(missing), missing[:5]))
    for did, w in want.items():
        d = got[did]
        src = d["source"]
        t, p, o, r = did.rsplit("-", 3)
        for k, v in (("topic", topic), ("partition", int(p)), ("offset", int(o)), ("row", int(r)),
                     ("database", w["database"]), ("table", w["table"]), ("op", w["op"])):
            if src.get(k) != v:
                fail("%s: %s=%r, want %r" % (did, k, src.get(k), v))
        ts = src.get("@timestamp", "")
        try:
            when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
        except ValueError:
            fail("%s: @timestamp %r is not ISO-8601 UTC with milliseconds" % (did, ts))
        if len(ts) != 24:
            fail("%s: @timestamp %r should have exactly milliseconds" % (did, ts))
        if d["_index"] != "%s-%s" % (prefix, when.strftime("%Y.%m.%d")):
            fail("%s: in index %s, want %s-%s" % (did, d["_index"], prefix, when.strftime("%Y.%m.%d")))
        if w.get("es") is not None:
            ms = int(when.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)
            if ms != w["es"]:
                fail("%s: @timestamp %s is not es %d" % (did, ts, w["es"]))
        if w["op"] == "ddl":
            if src.get("data") is not None or not isinstance(src.get("sql"), str):
                fail("%s: DDL document needs data null and sql" % did)
        elif w["data"] != "generated" and src.get("data") != w["data"]:
            fail("%s: data=%r, want %r" % (did, src.get("data"), w["data"]))
        if not (src.get("commit_ts") is None or isinstance(src.get("commit_ts"), str)):
            fail("%s: commit_ts must be a string or null" % did)
    print("ok: %d documents, exactly the expected _ids, right indices and fields" % len(want))


def main():
    if len(sys.argv) < 2:
        fail("usage: see the module docstring")
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "lines":
        cmd_lines(argv)
    elif cmd == "metrics":
        cmd_metrics(argv)
    elif cmd == "esdocs":
        cmd_esdocs(argv)
    elif cmd == "counts":
        _, counts, tot = expected(argv)
        print(" ".join("%s=%d" % kv for kv in sorted(tot.items())))
    elif cmd == "ids":
        for i in sorted(expected_ids(argv[0], argv[1:])):
            print(i)
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
