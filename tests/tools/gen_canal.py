#!/usr/bin/env python3
"""Writes a known batch of canal-json messages, as TiCDC emits them (reference
tidb-ticdc.md section 5, one row per message), one file per partition:

  gen_canal.py OUTDIR BATCH     writes OUTDIR/p{0,1,2}.batchBATCH (one message a line)

Batch 1 (19 messages): partition 0: CREATE TABLE orders, CREATE TABLE customers, a
watermark; partition 1: 5 INSERT, 2 UPDATE, 1 DELETE into shop.orders, a watermark;
partition 2: 3 INSERT, 1 UPDATE into shop.customers, 2 undecodable messages, a
watermark. Changes: insert 8, update 3, delete 1, ddl 2 (14 rows/statements).
Batch 2 (7 messages): 4 INSERT into shop.orders and a watermark per partition.
Commit times (es) are 50 ms before now.
"""
import json, sys, time
tmp, batch = sys.argv[1], sys.argv[2]
now = int(time.time() * 1000)
def msg(table, typ, data=None, old=None, ddl=False, sql=""):
    es = now - 50
    return json.dumps({"id": 0, "database": "shop", "table": table,
        "pkNames": None if ddl else ["id"], "isDdl": ddl, "type": typ, "es": es, "ts": now,
        "sql": sql, "sqlType": None if ddl else {"id": -5, "status": 12},
        "mysqlType": None if ddl else {"id": "bigint", "status": "varchar"},
        "data": None if ddl else [data], "old": None if old is None else [old],
        "_tidb": {"commitTs": es << 18}}, separators=(",", ":"))
def wm():
    return json.dumps({"id": 0, "database": "", "table": "", "pkNames": None, "isDdl": False,
        "type": "TIDB_WATERMARK", "es": now - 10, "ts": now, "sql": "", "sqlType": None,
        "mysqlType": None, "data": None, "old": None,
        "_tidb": {"watermarkTs": (now - 10) << 18}}, separators=(",", ":"))
row = lambda i, s: {"id": str(i), "status": s}
if batch == "1":
    parts = {
        0: [msg("orders", "CREATE", ddl=True, sql="CREATE TABLE `orders` (`id` BIGINT PRIMARY KEY, `status` VARCHAR(16))"),
            msg("customers", "CREATE", ddl=True, sql="CREATE TABLE `customers` (`id` BIGINT PRIMARY KEY, `status` VARCHAR(16))"),
            wm()],
        1: [msg("orders", "INSERT", row(i, "new")) for i in range(1, 6)]
           + [msg("orders", "UPDATE", row(i, "paid"), row(i, "new")) for i in (1, 2)]
           + [msg("orders", "DELETE", row(5, "new")), wm()],
        2: [msg("customers", "INSERT", row(i, "active")) for i in range(1, 4)]
           + [msg("customers", "UPDATE", row(1, "vip"), row(1, "active")),
              "this is not canal-json", '{"id":0,"database":"shop","table":', wm()],
    }
else:
    parts = {0: [wm()], 1: [msg("orders", "INSERT", row(i, "new")) for i in range(10, 14)] + [wm()],
             2: [wm()]}
for p, lines in parts.items():
    with open(f"{tmp}/p{p}.batch{batch}", "w") as f:
        f.write("\n".join(lines) + "\n")
