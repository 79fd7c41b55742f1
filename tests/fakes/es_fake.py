#!/usr/bin/env python3
"""es_fake: a small Elasticsearch 8.x stand-in for cdcctl's consumer tests.

It implements only what `cdcctl consume` uses, and rejects what the real server
rejects (reference: ../shared/reference/monitoring.md section 2):

  PUT  /_index_template/<name>   Content-Type application/json; a JSON object with
                                 index_patterns (list of strings) and template
  POST /_bulk, /<index>/_bulk    Content-Type application/x-ndjson, Content-Length (no
                                 chunked body), body ending in "\\n", action/source line
                                 pairs; only `index` actions with _index and _id are
                                 accepted (anything else: HTTP 400, like a malformed
                                 action line); a source that is not a JSON object or
                                 whose @timestamp is not an ISO-8601 date fails that
                                 item (400 mapper_parsing_exception), like ES with the
                                 date mapping. The answer has HTTP 200, "errors" and
                                 one item per action in order; filter_path trims items.
  GET  /, /_cluster/health

Documents are stored by (_index, _id) with a write count, so tests can check that
every id was indexed exactly once.

Faults, set with command-line options or the control endpoints (served on the data
port and on a separate control port that stays up while the data port is "down"):
  /_fake/fail?status=429&count=N         the next N bulk requests answer that status
                                         (429 es_rejected_execution_exception, 500, 503)
  /_fake/item_error?pattern=RE&status=400&type=mapper_parsing_exception&count=N
                                         items whose _id matches RE fail with that
                                         status (count=-1: always; 429 = transient)
  /_fake/delay?ms=N                      answer each bulk request N ms late (after
                                         storing its documents, like a slow cluster)
  /_fake/max_content_length?bytes=N      a request body over N bytes is answered 413
                                         with an empty body and the connection closed,
                                         like http.max_content_length (0: no limit)
  /_fake/down, /_fake/up                 close / reopen the data listener (and drop
                                         open connections): connection refused
  /_fake/reset                           forget documents, faults and counters
  GET /_fake/docs                        {"docs":[{"_index","_id","writes","source"}]}
  GET /_fake/stats                       counters (bulk_requests, bulk_items, rejected,
                                         template_puts, bulk_before_template, ...)

Usage: es_fake.py [--port P] [--fail429 N] [--fail500 N] [--delay-ms N] [--no-stdin]
                  [--tls CERT KEY]   (the data port speaks HTTPS with that PEM chain)
Prints "PORT=<data port> CONTROL=<control port>" (flushed), then serves until stdin
reaches EOF (unless --no-stdin) or SIGTERM/SIGINT arrives.
"""
import argparse
import json
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INDEX_BAD_CHARS = set('\\/*?"<>| ,#:')


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.docs = {}          # (index, id) -> {"source": obj, "writes": n}
        self.templates = {}     # name -> body
        self.fail = []          # statuses for the next bulk requests
        self.item_rules = []    # [regex, status, type, remaining]
        self.delay_ms = 0
        self.max_bytes = 0      # http.max_content_length; 0 = none
        self.stats = {"too_large": 0, "bulk_requests": 0, "bulk_items": 0, "bulk_ok": 0, "bulk_failed_whole": 0,
                      "rejected": 0, "item_errors": 0, "template_puts": 0,
                      "bulk_before_template": 0, "events": []}


STATE = State()
SERVERS = {"data": None}
CONNS = set()
CONNS_LOCK = threading.Lock()
DOWN = threading.Event()
TLS = {"ctx": None}  # ssl.SSLContext for the data port, or None


def valid_index(name):
    if not name or len(name.encode()) > 255 or name != name.lower():
        return False
    if name[0] in "-_+" or name in (".", ".."):
        return False
    return not any(c in INDEX_BAD_CHARS for c in name)


def es_error(status, etype, reason):
    return status, {"error": {"root_cause": [{"type": etype, "reason": reason}],
                              "type": etype, "reason": reason}, "status": status}


def parse_iso(ts):
    if not isinstance(ts, str):
        return False
    try:
        datetime.fromisoformat(ts.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def handle_template(name, ctype, body):
    if not ctype.startswith("application/json"):
        return es_error(406, "media_type_header_exception",
                        "Content-Type header [%s] is not supported" % ctype)
    try:
        obj = json.loads(body)
    except ValueError as e:
        return es_error(400, "x_content_parse_exception", str(e))
    if not isinstance(obj, dict):
        return es_error(400, "x_content_parse_exception", "template body must be an object")
    pats = obj.get("index_patterns")
    if not isinstance(pats, list) or not pats or not all(isinstance(p, str) for p in pats):
        return es_error(400, "action_request_validation_exception",
                        "Validation Failed: 1: index patterns are missing;")
    if "template" in obj and not isinstance(obj["template"], dict):
        return es_error(400, "x_content_parse_exception", "[template] must be an object")
    with STATE.lock:
        STATE.templates[name] = obj
        STATE.stats["template_puts"] += 1
        STATE.stats["events"].append("template")
    return 200, {"acknowledged": True}


def template_covers(index):
    for t in STATE.templates.values():
        for p in t.get("index_patterns", []):
            if re.fullmatch(re.escape(p).replace("\\*", ".*"), index):
                return True
    return False


def handle_bulk(ctype, body, query, path_index):
    with STATE.lock:
        STATE.stats["bulk_requests"] += 1
        if len(STATE.stats["events"]) < 1000:
            STATE.stats["events"].append("bulk")
        if STATE.fail:
            st = STATE.fail.pop(0)
            STATE.stats["bulk_failed_whole"] += 1
            if st == 429:
                return es_error(429, "es_rejected_execution_exception",
                                "rejected execution of coordinating operation")
            return es_error(st, "internal_server_error" if st == 500 else "unavailable_shards_exception",
                            "fake failure %d" % st)
    base = ctype.split(";")[0].strip().lower()
    if base != "application/x-ndjson":
        return es_error(406, "media_type_header_exception",
                        "Content-Type header [%s] is not supported (want application/x-ndjson)" % ctype)
    if not body:
        return es_error(400, "action_request_validation_exception",
                        "Validation Failed: 1: no requests added;")
    if not body.endswith(b"\n"):
        return es_error(400, "illegal_argument_exception",
                        "The bulk request must be terminated by a newline [\\n]")
    lines = body.split(b"\n")[:-1]
    if len(lines) % 2:
        return es_error(400, "illegal_argument_exception", "action line without a source line")
    ops = []
    for i in range(0, len(lines), 2):
        try:
            action = json.loads(lines[i])
        except ValueError as e:
            return es_error(400, "x_content_parse_exception", "action line %d: %s" % (i + 1, e))
        if not isinstance(action, dict) or len(action) != 1:
            return es_error(400, "illegal_argument_exception",
                            "Malformed action/metadata line [%d], expected a single key" % (i + 1))
        (op, meta), = action.items()
        if op != "index":
            return es_error(400, "illegal_argument_exception",
                            "the fake accepts only index actions, got [%s] on line %d" % (op, i + 1))
        if not isinstance(meta, dict):
            return es_error(400, "illegal_argument_exception", "malformed action line %d" % (i + 1))
        extra = set(meta) - {"_index", "_id"}
        if extra:
            return es_error(400, "illegal_argument_exception",
                            "Action/metadata line [%d] contains an unknown parameter %s" % (i + 1, sorted(extra)))
        index = meta.get("_index", path_index)
        did = meta.get("_id")
        if not isinstance(index, str) or not valid_index(index):
            return es_error(400, "invalid_index_name_exception", "Invalid index name [%s]" % index)
        if not isinstance(did, str) or not did or len(did.encode()) > 512:
            return es_error(400, "action_request_validation_exception",
                            "line %d: _id missing or invalid (the tests require explicit ids)" % (i + 1))
        ops.append((index, did, lines[i + 1]))

    items, errors = [], False
    with STATE.lock:
        STATE.stats["bulk_items"] += len(ops)
        for index, did, src in ops:
            if not template_covers(index):
                STATE.stats["bulk_before_template"] += 1
            err = None
            for rule in STATE.item_rules:
                if rule[3] != 0 and re.search(rule[0], did):
                    if rule[3] > 0:
                        rule[3] -= 1
                    err = (rule[1], rule[2], "fake item error for [%s]" % did)
                    break
            if err is None:
                try:
                    doc = json.loads(src)
                except ValueError as e:
                    err = (400, "mapper_parsing_exception", "failed to parse: %s" % e)
                else:
                    if not isinstance(doc, dict):
                        err = (400, "mapper_parsing_exception", "source is not an object")
                    elif "@timestamp" in doc and not parse_iso(doc["@timestamp"]):
                        err = (400, "mapper_parsing_exception",
                               "failed to parse field [@timestamp] of type [date]")
            if err:
                errors = True
                STATE.stats["item_errors"] += 1
                items.append({"index": {"_index": index, "_id": did, "status": err[0],
                                        "error": {"type": err[1], "reason": err[2]}}})
                continue
            key = (index, did)
            entry = STATE.docs.get(key)
            created = entry is None
            if created:
                entry = STATE.docs[key] = {"source": doc, "writes": 0}
            entry["source"] = doc
            entry["writes"] += 1
            items.append({"index": {"_index": index, "_id": did, "_version": entry["writes"],
                                    "result": "created" if created else "updated",
                                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                                    "status": 201 if created else 200}})
        STATE.stats["bulk_ok"] += 1
        delay = STATE.delay_ms
    if delay:
        time.sleep(delay / 1000.0)
    fp = query.get("filter_path", [None])[0]
    if fp:
        keep = {"status", "error"} if "items.*.status" in fp else set()
        items = [{k: {kk: vv for kk, vv in v.items() if kk in keep}} for it in items for k, v in it.items()]
        return 200, {"errors": errors, "items": items}
    return 200, {"took": 3, "errors": errors, "items": items}


def handle_fake(path, query):
    q = {k: v[0] for k, v in query.items()}
    with STATE.lock:
        if path == "/_fake/fail":
            STATE.fail.extend([int(q.get("status", 429))] * int(q.get("count", 1)))
        elif path == "/_fake/item_error":
            STATE.item_rules.append([q.get("pattern", ".*"), int(q.get("status", 400)),
                                     q.get("type", "mapper_parsing_exception"), int(q.get("count", -1))])
        elif path == "/_fake/delay":
            STATE.delay_ms = int(q.get("ms", 0))
        elif path == "/_fake/max_content_length":
            STATE.max_bytes = int(q.get("bytes", 0))
        elif path == "/_fake/reset":
            STATE.reset()
        elif path == "/_fake/docs":
            return 200, {"docs": [{"_index": k[0], "_id": k[1], "writes": v["writes"], "source": v["source"]}
                                  for k, v in sorted(STATE.docs.items())]}
        elif path == "/_fake/stats":
            s = dict(STATE.stats)
            s["docs"] = len(STATE.docs)
            s["writes"] = sum(v["writes"] for v in STATE.docs.values())
            s["templates"] = STATE.templates
            s["down"] = DOWN.is_set()
            return 200, s
        elif path not in ("/_fake/down", "/_fake/up"):
            return 404, {"error": "unknown control endpoint %s" % path}
    if path == "/_fake/down":
        go_down()
    elif path == "/_fake/up":
        go_up()
    return 200, {"ok": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    control = False

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        if not self.control:
            with CONNS_LOCK:
                CONNS.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with CONNS_LOCK:
                CONNS.discard(self.connection)

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def dispatch(self):
        if DOWN.is_set() and not self.control:
            self.close_connection = True
            return
        u = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(u.query)
        path = u.path
        body = self.read_body()
        if path.startswith("/_fake/"):
            return self.reply(*handle_fake(path, query))
        if self.control:
            return self.reply(404, {"error": "control port serves /_fake/ only"})
        if body is None:
            with STATE.lock:
                STATE.stats["rejected"] += 1
            return self.reply(*es_error(400, "illegal_argument_exception",
                                        "chunked bodies are not accepted by this fake"))
        with STATE.lock:
            too_large = STATE.max_bytes and len(body) > STATE.max_bytes
            if too_large:
                STATE.stats["too_large"] += 1
        if too_large:
            # Elasticsearch's HTTP layer: 413, no body, connection closed
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        ctype = self.headers.get("Content-Type", "")
        m = re.fullmatch(r"/(?:([^/_][^/]*)/)?_bulk", path)
        if m and self.command in ("POST", "PUT"):
            status, obj = handle_bulk(ctype, body, query, m.group(1))
            if status in (400, 406):
                with STATE.lock:
                    STATE.stats["rejected"] += 1
            return self.reply(status, obj)
        m = re.fullmatch(r"/_index_template/([^/]+)", path)
        if m and self.command == "PUT":
            return self.reply(*handle_template(m.group(1), ctype, body))
        if path == "/" and self.command in ("GET", "HEAD"):
            return self.reply(200, {"name": "es-fake", "cluster_name": "fake",
                                    "version": {"number": "8.13.0"}, "tagline": "You Know, for Search"})
        if path == "/_cluster/health":
            return self.reply(200, {"cluster_name": "fake", "status": "green", "timed_out": False})
        return self.reply(*es_error(404 if self.command == "GET" else 405, "illegal_argument_exception",
                                    "no handler found for uri [%s] and method [%s]" % (path, self.command)))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = dispatch


class ControlHandler(Handler):
    control = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def data_server(port):
    srv = Server(("127.0.0.1", port), Handler)
    if TLS["ctx"]:
        srv.socket = TLS["ctx"].wrap_socket(srv.socket, server_side=True)
    return srv


def serve(srv):
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()


def go_down():
    if DOWN.is_set():
        return
    DOWN.set()
    srv = SERVERS["data"]
    if srv:
        srv.shutdown()
        srv.server_close()
    with CONNS_LOCK:
        for c in list(CONNS):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def go_up():
    if not DOWN.is_set():
        return
    for _ in range(50):
        try:
            srv = data_server(SERVERS["port"])
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError("cannot re-bind port %d" % SERVERS["port"])
    SERVERS["data"] = srv
    DOWN.clear()
    serve(srv)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail429", type=int, default=0)
    ap.add_argument("--fail500", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--no-stdin", action="store_true")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    if a.tls:
        TLS["ctx"] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS["ctx"].load_cert_chain(a.tls[0], a.tls[1])
    STATE.fail = [429] * a.fail429 + [500] * a.fail500
    STATE.delay_ms = a.delay_ms
    data = data_server(a.port)
    ctl = Server(("127.0.0.1", 0), ControlHandler)
    SERVERS["data"] = data
    SERVERS["port"] = data.server_address[1]
    serve(data)
    serve(ctl)
    print("PORT=%d CONTROL=%d" % (SERVERS["port"], ctl.server_address[1]), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if a.no_stdin:
            while True:
                time.sleep(3600)
        while sys.stdin.readline():
            pass
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
