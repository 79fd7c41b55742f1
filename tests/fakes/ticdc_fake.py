#!/usr/bin/env python3
"""A TiCDC REST API fake for cdcctl's tests, written from
../shared/reference/tidb-ticdc.md sections 2-3 (OpenAPI v2, v1 fallback).

    ticdc_fake.py PORT [--ready-after N] [--v1-only] [--check-kafka]

Listens on 127.0.0.1:PORT (0 = any free port) and prints "LISTENING <port>".
State is in memory. It validates request bodies the way TiCDC does and answers
with TiCDC's status codes and error bodies
{"error_msg":"[CDC:ErrX]text","error_code":"CDC:ErrX"}:

- every /api/v2 call answers 503 CDC:ErrServerIsNotReady for the first N calls
  (--ready-after N);
- changefeed ids must match ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$ (<= 128 chars), else
  400 CDC:ErrAPIInvalidParam;
- bodies are bound like gin's BindJSON: empty or malformed -> 400
  CDC:ErrAPIInvalidParam; wrong types or unknown fields -> 400
  CDC:ErrAPIInvalidParam;
- create: sink_uri required (400 CDC:ErrSinkURIInvalid), existing id -> 500
  CDC:ErrChangeFeedAlreadyExists, unknown protocol -> 500
  CDC:ErrSinkUnknownProtocol, bad filter rule -> 400 CDC:ErrFilterRuleInvalid;
  with --check-kafka the first broker of a kafka:// sink must accept a TCP
  connection, else 500 CDC:ErrKafkaNewProducer (TiCDC builds the sink inside
  the create call);
- unknown id (get, pause, resume, update, status) -> 400
  CDC:ErrChangeFeedNotExists; delete is idempotent;
- resume needs a JSON body ({} or {"overwrite_checkpoint_ts":N}); an empty body
  is 400 CDC:ErrAPIInvalidParam;
- update only when the feed is stopped or failed (400
  CDC:ErrChangefeedUpdateRefused); a replica_config in an update REPLACES the
  stored one: omitted scalar fields become zero values (as TiCDC v8 does);
- list items carry checkpoint_tso, get and status carry checkpoint_ts; TSOs are
  (unix ms << 18), above 2^53; sink_uri is shown with secrets masked;
- unknown routes and methods -> 404 "404 page not found" (gin's text body).

--v1-only: /api/v2/* is 404 (an old server); /api/v1 routes answer instead
(mutations 202 with no body, the list is a bare array).

Also answers PD's GET /pd/api/v1/stores (one store, state settable).

Control endpoints (not TiCDC's):
  GET  /_fake/state            {"feeds":{id:{...unmasked...}},"requests":[...],"v2_calls":N}
  POST /_fake/feed             {"id":..,"state":..,"error":{"code","message"}|null,
                                "sink_uri":..,"config":{..},"resume_error":{..}|null}
  POST /_fake/fail-next        {"method":"POST","path":"/api/v2/changefeeds","status":500,
                                "code":"CDC:ErrX","msg":"text"}  (next matching call fails)
  POST /_fake/store            {"state_name":"Disconnected"}
  POST /_fake/clear-requests
"""
import copy
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ID_RE = re.compile(r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$")
PROTOCOLS = {"canal-json", "open-protocol", "canal", "avro", "maxwell", "csv", "debezium",
             "simple"}
SCHEMES = {"kafka", "kafka+ssl", "mysql", "mysql+ssl", "tidb", "tidb+ssl", "blackhole", "pulsar",
           "pulsar+ssl", "s3", "gcs", "gs", "azblob", "azure", "file", "noop"}
SECRET_PARAMS = ("password", "secret", "token", "key")

LOCK = threading.Lock()
FEEDS = {}
REQUESTS = []
FAIL_NEXT = []
STORE = {"state_name": "Up"}
V2_CALLS = [0]
OPTS = {"ready_after": 0, "v1_only": False, "check_kafka": False}


def now_tso(offset_ms=0):
    return (int(time.time() * 1000) + offset_ms) << 18


def tso_time(tso):
    ms = tso >> 18
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms // 1000)) + ".%03d" % (ms % 1000)


def default_replica_config():
    """What TiCDC v8.5 shows for a changefeed created without replica_config."""
    return {
        "memory_quota": 1073741824,
        "case_sensitive": False,
        "force_replicate": False,
        "ignore_ineligible_table": False,
        "check_gc_safe_point": True,
        "enable_sync_point": False,
        "enable_table_monitor": False,
        "bdr_mode": False,
        "sync_point_interval": "10m0s",
        "sync_point_retention": "24h0m0s",
        "filter": {"rules": ["*.*"], "event_filters": None},
        "mounter": {"worker_num": 16},
        "sink": {"protocol": "", "encoder_concurrency": 32, "terminator": "\r\n",
                 "date_separator": "day", "enable_partition_separator": True,
                 "only_output_updated_columns": False, "content_compatible": False},
        "consistent": {"level": "none", "max_log_size": 64, "flush_interval": 2000,
                       "storage": "", "use_file_backend": False},
        "scheduler": {"enable_table_across_nodes": False, "region_threshold": 100000,
                      "write_key_threshold": 0},
        "integrity": {"integrity_check_level": "none", "corruption_handle_level": "warn"},
        "changefeed_error_stuck_duration": 1800000000000,
        "sql_mode": "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                    "ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
    }


def zero_replica_config():
    """Go zero values of the scalar fields (what an update's replica_config starts from)."""
    d = default_replica_config()
    z = {}
    for k, v in d.items():
        if isinstance(v, bool):
            z[k] = False
        elif isinstance(v, int):
            z[k] = 0
        elif isinstance(v, str):
            z[k] = ""
        else:
            z[k] = v  # sub-objects not sent keep the defaults
    return z


class BadRequest(Exception):
    def __init__(self, status, code, text):
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


def cdc_error(status, code, text):
    return BadRequest(status, "CDC:" + code, "[CDC:%s]%s" % (code, text))


def invalid(text):
    return cdc_error(400, "ErrAPIInvalidParam", text)


# ---- JSON binding with types (Go structs) ----

def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def t_str(v):
    return isinstance(v, str)


def t_bool(v):
    return isinstance(v, bool)


def t_strlist(v):
    return v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v))


def t_uintlist(v):
    return v is None or (isinstance(v, list) and all(is_uint(x) for x in v))


def t_duration(v):
    return isinstance(v, str) or is_int(v)


def t_object(v):
    return v is None or isinstance(v, dict)


EVENT_FILTER = {"matcher": t_strlist, "ignore_event": t_strlist, "ignore_sql": t_strlist,
                "ignore_insert_value_expr": t_str, "ignore_update_new_value_expr": t_str,
                "ignore_update_old_value_expr": t_str, "ignore_delete_value_expr": t_str}


def t_event_filters(v):
    if v is None:
        return True
    if not isinstance(v, list):
        return False
    for ef in v:
        check_fields(ef, EVENT_FILTER, "replica_config.filter.event_filters")
    return True


def t_list(v):
    return v is None or isinstance(v, list)


FILTER = {"rules": t_strlist, "ignore_txn_start_ts": t_uintlist, "event_filters": t_event_filters,
          "do_dbs": t_strlist, "ignore_dbs": t_strlist, "do_tables": t_list,
          "ignore_tables": t_list}
MOUNTER = {"worker_num": is_int}


def sub(schema, where):
    def check(v):
        if v is None:
            return True
        check_fields(v, schema, where)
        return True
    return check


REPLICA = {
    "memory_quota": is_uint, "case_sensitive": t_bool, "force_replicate": t_bool,
    "ignore_ineligible_table": t_bool, "check_gc_safe_point": t_bool,
    "enable_sync_point": t_bool, "enable_table_monitor": t_bool, "bdr_mode": t_bool,
    "sync_point_interval": t_duration, "sync_point_retention": t_duration,
    "filter": sub(FILTER, "replica_config.filter"),
    "mounter": sub(MOUNTER, "replica_config.mounter"),
    "sink": t_object, "consistent": t_object, "scheduler": t_object, "integrity": t_object,
    "changefeed_error_stuck_duration": t_duration, "synced_status": t_object, "sql_mode": t_str,
}

PD_FIELDS = {"pd_addrs": t_strlist, "ca_path": t_str, "cert_path": t_str, "key_path": t_str,
             "cert_allowed_cn": t_strlist}
CHANGEFEED_CONFIG = dict(PD_FIELDS, namespace=t_str, changefeed_id=t_str, start_ts=is_uint,
                         target_ts=is_uint, sink_uri=t_str, replica_config=sub(REPLICA, "replica_config"))
RESUME_CONFIG = dict(PD_FIELDS, overwrite_checkpoint_ts=is_uint)
V1_CREATE = {"changefeed_id": t_str, "start_ts": is_uint, "target_ts": is_uint, "sink_uri": t_str,
             "timezone": t_str, "force_replicate": t_bool, "ignore_ineligible_table": t_bool,
             "filter_rules": t_strlist, "ignore_txn_start_ts": t_uintlist,
             "mounter_worker_num": is_int, "sink_config": t_object}
V1_UPDATE = {"target_ts": is_uint, "sink_uri": t_str, "filter_rules": t_strlist,
             "ignore_txn_start_ts": t_uintlist, "mounter_worker_num": is_int,
             "sink_config": t_object}


def check_fields(obj, schema, where):
    if not isinstance(obj, dict):
        raise invalid("json: cannot unmarshal %s into Go value of type %s"
                      % (type(obj).__name__, where))
    for k, v in obj.items():
        if k not in schema:
            raise invalid('json: unknown field "%s" in %s' % (k, where))
        if v is None:
            continue  # null leaves the Go zero value
        if not schema[k](v):
            raise invalid("json: cannot unmarshal %s into Go struct field %s.%s"
                          % (type(v).__name__, where, k))


def bind_json(raw, schema, where):
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        raise invalid("EOF")
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise invalid("invalid character in JSON: %s" % e)
    if obj is None:
        raise invalid("request body is null")
    check_fields(obj, schema, where)
    return obj


# ---- sink URIs ----

def mask_sink_uri(uri):
    u = urllib.parse.urlsplit(uri)
    netloc = u.netloc
    if "@" in netloc:
        userinfo, hosts = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":xxxxx"
        netloc = userinfo + "@" + hosts
    q = []
    for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True):
        if any(s in k.lower() for s in SECRET_PARAMS):
            v = "xxxxx"
        q.append((k, v))
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, urllib.parse.urlencode(q, safe=",*"),
                                    u.fragment))


def validate_sink(uri):
    """TiCDC parses the URI and builds the sink inside create/update."""
    try:
        u = urllib.parse.urlsplit(uri)
    except ValueError as e:
        raise cdc_error(400, "ErrSinkURIInvalid", "sink uri invalid '%s': %s" % (uri, e))
    scheme = u.scheme.lower()
    if scheme not in SCHEMES:
        raise cdc_error(400, "ErrSinkURIInvalid",
                        "sink uri invalid 'the sink scheme (%s) is not supported'" % scheme)
    params = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    if scheme.startswith("kafka"):
        proto = params.get("protocol", "")
        if proto not in PROTOCOLS:
            raise cdc_error(500, "ErrSinkUnknownProtocol",
                            "unknown '%s' message protocol for sink" % proto)
        for num in ("partition-num", "replication-factor", "max-message-bytes"):
            if num in params:
                try:
                    n = int(params[num])
                except ValueError:
                    raise cdc_error(500, "ErrKafkaInvalidConfig",
                                    "invalid %s: %s" % (num, params[num]))
                if num == "partition-num" and n <= 0:
                    raise cdc_error(500, "ErrKafkaInvalidPartitionNum",
                                    "invalid partition num %d" % n)
        topic = u.path.strip("/")
        if not topic:
            raise cdc_error(500, "ErrKafkaInvalidConfig", "no topic is specified in sink-uri")
        if OPTS["check_kafka"]:
            first = u.netloc.rsplit("@", 1)[-1].split(",")[0]
            host, _, port = first.rpartition(":")
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=2).close()
            except (OSError, ValueError) as e:
                raise cdc_error(500, "ErrKafkaNewProducer",
                                "new sarama producer: kafka: client has run out of available "
                                "brokers to talk to: dial tcp %s: %s" % (first, e))


RULE_RE = re.compile(r"^!?[^.\s]+\.[^.\s]+$")


def validate_rules(cfg):
    for r in ((cfg or {}).get("filter") or {}).get("rules") or []:
        if not RULE_RE.match(r):
            raise cdc_error(400, "ErrFilterRuleInvalid", "filter rule is invalid %s" % r)


# ---- models ----

def api_info(f):
    info = {
        "upstream_id": 7178706266519722477,
        "namespace": "default",
        "id": f["id"],
        "sink_uri": mask_sink_uri(f["sink_uri"]),
        "create_time": f["create_time"],
        "start_ts": f["start_ts"],
        "target_ts": f["target_ts"],
        "config": f["config"],
        "state": f["state"],
        "creator_version": "v8.5.1",
        "resolved_ts": f["checkpoint_ts"],
        "checkpoint_ts": f["checkpoint_ts"],
        "checkpoint_time": tso_time(f["checkpoint_ts"]),
        "task_status": [{"capture_id": "capture-1", "table_ids": [104, 106, 108]}]
        if f["state"] == "normal" else [],
    }
    if f["error"] and f["state"] not in ("normal", "stopped", "finished", "removed"):
        info["error"] = dict(f["error"], addr="127.0.0.1:8300")
    return info


def advance(f):
    if f["state"] in ("normal", "warning"):
        f["checkpoint_ts"] = max(f["checkpoint_ts"], now_tso(-1000))


def need_feed(fid):
    if not ID_RE.match(fid) or len(fid) > 128:
        raise invalid("invalid changefeed_id: %s" % fid)
    f = FEEDS.get(fid)
    if not f:
        raise cdc_error(400, "ErrChangeFeedNotExists", "changefeed not exists, %s" % fid)
    return f


def new_feed(fid, sink_uri, config, start_ts, target_ts):
    return {"id": fid, "sink_uri": sink_uri, "config": config, "state": "normal", "error": None,
            "start_ts": start_ts, "target_ts": target_ts, "checkpoint_ts": start_ts,
            "create_time": time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime()),
            "resume_error": None}


# ---- v2 ----

def v2_create(raw):
    cfg = bind_json(raw, CHANGEFEED_CONFIG, "v2.ChangefeedConfig")
    fid = cfg.get("changefeed_id") or str(uuid.uuid4())
    if not ID_RE.match(fid) or len(fid) > 128:
        raise invalid("invalid changefeed_id: %s" % fid)
    if cfg.get("namespace") not in (None, "", "default"):
        raise invalid("namespace %s does not exist" % cfg["namespace"])
    if not cfg.get("sink_uri"):
        raise cdc_error(400, "ErrSinkURIInvalid",
                        "sink uri invalid 'sink-uri is empty, can't not create a changefeed "
                        "without sink-uri'")
    if fid in FEEDS:
        raise cdc_error(500, "ErrChangeFeedAlreadyExists", "changefeed already exists, %s" % fid)
    current = now_tso()
    start = cfg.get("start_ts") or current
    if start > current:
        raise invalid("invalid start-ts %d, larger than current tso %d" % (start, current))
    target = cfg.get("target_ts") or 0
    if target and target <= start:
        raise cdc_error(400, "ErrTargetTsBeforeStartTs",
                        "fail to create or maintain changefeed because target-ts %d is earlier "
                        "than start-ts %d" % (target, start))
    config = default_replica_config()
    for k, v in (cfg.get("replica_config") or {}).items():
        config[k] = copy.deepcopy(v)
    validate_rules(config)
    validate_sink(cfg["sink_uri"])
    FEEDS[fid] = new_feed(fid, cfg["sink_uri"], config, start, target)
    return 200, api_info(FEEDS[fid])


def v2_update(fid, raw):
    f = need_feed(fid)
    if f["state"] not in ("stopped", "failed"):
        raise cdc_error(400, "ErrChangefeedUpdateRefused",
                        "changefeed update error: can only update changefeed config when it is "
                        "stopped or failed")
    cfg = bind_json(raw, CHANGEFEED_CONFIG, "v2.ChangefeedConfig")
    target = cfg.get("target_ts") or 0
    if target and target <= f["start_ts"]:
        raise cdc_error(400, "ErrChangefeedUpdateRefused",
                        "can not update target_ts:%d less than start_ts:%d" % (target, f["start_ts"]))
    new_config = f["config"]
    if cfg.get("replica_config") is not None:
        new_config = zero_replica_config()
        for k, v in cfg["replica_config"].items():
            new_config[k] = copy.deepcopy(v)
        try:
            validate_rules(new_config)
        except BadRequest as e:
            raise cdc_error(400, "ErrChangefeedUpdateRefused", "changefeed update error: " + e.text)
    if cfg.get("sink_uri"):
        try:
            validate_sink(cfg["sink_uri"])
        except BadRequest as e:
            raise cdc_error(400, "ErrChangefeedUpdateRefused", "changefeed update error: " + e.text)
        f["sink_uri"] = cfg["sink_uri"]
    f["config"] = new_config
    if target:
        f["target_ts"] = target
    return 200, api_info(f)


def v2_resume(fid, raw):
    f = need_feed(fid)
    body = bind_json(raw, RESUME_CONFIG, "v2.ResumeChangefeedConfig")
    if f["resume_error"]:
        e = f["resume_error"]
        raise BadRequest(e.get("status", 400), e["code"], e["message"])
    if body.get("overwrite_checkpoint_ts"):
        f["checkpoint_ts"] = body["overwrite_checkpoint_ts"]
    if f["state"] in ("stopped", "failed", "warning", "pending"):
        f["state"] = "normal"
        f["error"] = None
    return 200, {}


def v2_pause(fid):
    f = need_feed(fid)
    if f["state"] in ("normal", "warning", "failed", "pending"):
        f["state"] = "stopped"
    return 200, {}


def v2_list(query):
    want = (query.get("state") or [""])[0]
    items = []
    for fid in sorted(FEEDS):
        f = FEEDS[fid]
        advance(f)
        if want == "all" or (want and f["state"] == want) or \
                (not want and f["state"] in ("normal", "stopped", "failed", "warning", "pending")):
            items.append({"upstream_id": 7178706266519722477, "namespace": "default", "id": fid,
                          "state": f["state"], "checkpoint_tso": f["checkpoint_ts"],
                          "checkpoint_time": tso_time(f["checkpoint_ts"]),
                          "error": f["error"] if f["state"] != "normal" else None})
    return 200, {"total": len(items), "items": items}


def route_v2(method, parts, query, raw, port):
    # parts: path components after /api/v2
    if method == "GET" and parts == ["health"]:
        return 200, {}
    if method == "GET" and parts == ["status"]:
        return 200, {"version": "v8.5.1", "git_hash": "fake", "id": "capture-1", "pid": 1,
                     "is_owner": True, "cluster_id": "default", "liveness": 0}
    if method == "GET" and parts == ["captures"]:
        return 200, {"total": 1, "items": [{"id": "capture-1", "is_owner": True,
                                            "address": "127.0.0.1:%d" % port,
                                            "cluster_id": "default"}]}
    if method == "POST" and parts == ["tso"]:
        return 200, {"timestamp": int(time.time() * 1000), "logic_time": 0}
    if parts and parts[0] == "changefeeds":
        if len(parts) == 1:
            if method == "GET":
                return v2_list(query)
            if method == "POST":
                return v2_create(raw)
        elif len(parts) == 2:
            fid = parts[1]
            if method == "GET":
                f = need_feed(fid)
                advance(f)
                return 200, api_info(f)
            if method == "PUT":
                return v2_update(fid, raw)
            if method == "DELETE":
                if not ID_RE.match(fid):
                    raise invalid("invalid changefeed_id: %s" % fid)
                FEEDS.pop(fid, None)
                return 200, {}
        elif len(parts) == 3:
            fid, op = parts[1], parts[2]
            if method == "POST" and op == "pause":
                return v2_pause(fid)
            if method == "POST" and op == "resume":
                return v2_resume(fid, raw)
            if method == "GET" and op == "status":
                f = need_feed(fid)
                advance(f)
                return 200, {"state": f["state"], "resolved_ts": f["checkpoint_ts"],
                             "checkpoint_ts": f["checkpoint_ts"],
                             "last_error": f["error"] if f["state"] == "failed" else None,
                             "last_warning": f["error"] if f["state"] == "warning" else None}
    return None


# ---- v1 ----

def route_v1(method, parts, query, raw, port):
    if method == "GET" and parts == ["status"]:
        return 200, {"version": "v4.0.16", "git_hash": "fake", "id": "capture-1", "pid": 1,
                     "is_owner": True}
    if method == "GET" and parts == ["health"]:
        return 200, None
    if method == "GET" and parts == ["captures"]:
        return 200, [{"id": "capture-1", "is_owner": True, "address": "127.0.0.1:%d" % port}]
    if not parts or parts[0] != "changefeeds":
        return None
    if len(parts) == 1 and method == "GET":
        return 200, [{"id": fid, "state": f["state"], "checkpoint_tso": f["checkpoint_ts"],
                      "checkpoint_time": tso_time(f["checkpoint_ts"]), "error": f["error"]}
                     for fid, f in sorted(FEEDS.items())]
    if len(parts) == 1 and method == "POST":
        cfg = bind_json(raw, V1_CREATE, "model.ChangefeedConfig")
        fid = cfg.get("changefeed_id") or str(uuid.uuid4())
        if not ID_RE.match(fid):
            raise invalid("invalid changefeed_id: %s" % fid)
        if not cfg.get("sink_uri"):
            raise cdc_error(400, "ErrSinkURIInvalid", "sink uri invalid 'sink-uri is empty'")
        if fid in FEEDS:
            raise cdc_error(500, "ErrChangeFeedAlreadyExists", "changefeed already exists, %s" % fid)
        config = default_replica_config()
        if cfg.get("filter_rules"):
            config["filter"]["rules"] = cfg["filter_rules"]
        validate_rules(config)
        validate_sink(cfg["sink_uri"])
        start = cfg.get("start_ts") or now_tso()
        FEEDS[fid] = new_feed(fid, cfg["sink_uri"], config, start, cfg.get("target_ts") or 0)
        return 202, None
    if len(parts) == 2:
        fid = parts[1]
        if method == "GET":
            f = need_feed(fid)
            advance(f)
            return 200, {"id": fid, "sink_uri": mask_sink_uri(f["sink_uri"]),
                         "create_time": f["create_time"], "start_ts": f["start_ts"],
                         "target_ts": f["target_ts"], "checkpoint_tso": f["checkpoint_ts"],
                         "checkpoint_time": tso_time(f["checkpoint_ts"]), "sort_engine": "unified",
                         "state": f["state"], "error": f["error"], "error_history": None,
                         "creator_version": "v4.0.16", "task_status": []}
        if method == "PUT":
            f = need_feed(fid)
            if f["state"] != "stopped":
                raise cdc_error(400, "ErrChangefeedUpdateRefused",
                                "can only update changefeed config when it is stopped")
            cfg = bind_json(raw, V1_UPDATE, "model.ChangefeedConfig")
            if cfg.get("sink_uri"):
                validate_sink(cfg["sink_uri"])
                f["sink_uri"] = cfg["sink_uri"]
            if cfg.get("filter_rules"):
                f["config"]["filter"]["rules"] = cfg["filter_rules"]
            return 202, None
        if method == "DELETE":
            FEEDS.pop(fid, None)
            return 202, None
    if len(parts) == 3 and method == "POST":
        f = need_feed(parts[1])
        if parts[2] == "pause":
            if f["state"] in ("normal", "warning", "failed"):
                f["state"] = "stopped"
            return 202, None
        if parts[2] == "resume":
            if f["state"] in ("stopped", "failed", "warning"):
                f["state"], f["error"] = "normal", None
            return 202, None
    return None


# ---- control ----

def route_fake(method, parts, raw):
    body = json.loads(raw.decode() or "{}") if method == "POST" else None
    if method == "GET" and parts == ["state"]:
        return 200, {"feeds": FEEDS, "requests": REQUESTS, "v2_calls": V2_CALLS[0]}
    if method == "POST" and parts == ["feed"]:
        fid = body["id"]
        f = FEEDS.get(fid)
        if not f:
            f = FEEDS[fid] = new_feed(fid, body.get("sink_uri", "blackhole://"),
                                      default_replica_config(), now_tso(-5000), 0)
        for k in ("state", "error", "sink_uri", "resume_error"):
            if k in body:
                f[k] = body[k]
        if "config" in body:
            f["config"] = body["config"]
        if "checkpoint_ts" in body:
            f["checkpoint_ts"] = body["checkpoint_ts"]
        return 200, f
    if method == "POST" and parts == ["fail-next"]:
        FAIL_NEXT.append(body)
        return 200, {}
    if method == "POST" and parts == ["store"]:
        STORE.update(body)
        return 200, STORE
    if method == "POST" and parts == ["clear-requests"]:
        del REQUESTS[:]
        return 200, {}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ticdc-fake"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, text=False):
        if text:
            data = body.encode()
            ctype = "text/plain"
        elif body is None:
            data = b""
            ctype = None
        else:
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        parts = [p for p in url.path.split("/") if p]
        port = self.server.server_address[1]
        with LOCK:
            if parts[:1] == ["_fake"]:
                res = route_fake(method, parts[1:], raw)
                if res is None:
                    return self.send(404, "404 page not found", text=True)
                return self.send(*res)
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            entry = {"method": method, "path": url.path, "body": body}
            REQUESTS.append(entry)
            status, resp, text = self.dispatch(method, url.path, parts, query, raw, port)
            entry["status"] = status
        self.send(status, resp, text)

    def dispatch(self, method, path, parts, query, raw, port):
        if parts[:3] == ["pd", "api", "v1"] and method == "GET" and parts[3:] == ["stores"]:
            return 200, {"count": 1, "stores": [{"store": {"id": 1, "address": "tikv0:20160",
                                                           "state_name": STORE["state_name"]},
                                                 "status": {"region_count": 1}}]}, False
        for i, fn in enumerate(FAIL_NEXT):
            if fn.get("method", method) == method and path.startswith(fn.get("path", "/")):
                del FAIL_NEXT[i]
                code = fn.get("code", "CDC:ErrInternalServerError")
                return fn.get("status", 500), {"error_msg": "[%s]%s" % (code, fn.get("msg", "")),
                                               "error_code": code}, False
        try:
            res = None
            if parts[:2] == ["api", "v2"] and not OPTS["v1_only"]:
                V2_CALLS[0] += 1
                if V2_CALLS[0] <= OPTS["ready_after"]:
                    raise cdc_error(503, "ErrServerIsNotReady", "cdc server is not ready")
                res = route_v2(method, parts[2:], query, raw, port)
            elif parts[:2] == ["api", "v1"] and OPTS["v1_only"]:
                res = route_v1(method, parts[2:], query, raw, port)
            elif parts == ["status"] and method == "GET":
                res = 200, {"version": "v8.5.1", "git_hash": "fake", "id": "capture-1", "pid": 1,
                            "is_owner": True}
            if res is None:
                return 404, "404 page not found", True
            return res[0], res[1], False
        except BadRequest as e:
            return e.status, {"error_msg": e.text, "error_code": e.code}, False

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main(argv):
    args = argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    port = int(args.pop(0))
    while args:
        a = args.pop(0)
        if a == "--ready-after":
            OPTS["ready_after"] = int(args.pop(0))
        elif a == "--v1-only":
            OPTS["v1_only"] = True
        elif a == "--check-kafka":
            OPTS["check_kafka"] = True
        else:
            print("ticdc_fake: unknown option %s" % a, file=sys.stderr)
            return 2
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print("LISTENING %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
