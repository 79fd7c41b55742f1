#!/usr/bin/env python3
"""Regenerates the canal-json corpus (tests/data/canal/{valid,malformed}/).

Every file is one Kafka message value, byte for byte (no trailing newline unless
the case is about whitespace). valid/ files decode; malformed/ files must be
rejected with CC_EINVAL. tests/unit/test_canal.c holds the expected fields.
Run from anywhere: python3 tests/data/canal/gen.py
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
COMMIT = 429918007904436226          # > 2^53: must be parsed exactly
ES = COMMIT >> 18                    # 1640007049196
TS = 1640007050284
TIDB = '"_tidb":{"commitTs":%d}' % COMMIT

SQLTYPE = '{"FirstName":12,"HireDate":91,"LastName":12,"OfficeLocation":12,"id":4}'
MYSQLTYPE = ('{"FirstName":"varchar","HireDate":"date","LastName":"varchar",'
             '"OfficeLocation":"varchar","id":"int"}')
ROW_NY = '{"FirstName":"Bob","HireDate":"2014-06-04","LastName":"Smith","OfficeLocation":"New York","id":"101"}'
ROW_LA = '{"FirstName":"Bob","HireDate":"2015-10-08","LastName":"Smith","OfficeLocation":"Los Angeles","id":"101"}'


def dml(typ, data, old="null", db="test", table="employee", tidb=True, pk='["id"]'):
    s = ('{"id":0,"database":"%s","table":"%s","pkNames":%s,"isDdl":false,"type":"%s",'
         '"es":%d,"ts":%d,"sql":"","sqlType":%s,"mysqlType":%s,"data":%s,"old":%s'
         % (db, table, pk, typ, ES, TS, SQLTYPE, MYSQLTYPE, data, old))
    return s + ("," + TIDB if tidb else "") + "}"


def ddl(typ, sql, db="shop", table="orders", tidb=True):
    s = ('{"id":0,"database":"%s","table":"%s","pkNames":null,"isDdl":true,"type":"%s",'
         '"es":%d,"ts":%d,"sql":"%s","sqlType":null,"mysqlType":null,"data":null,"old":null'
         % (db, table, typ, ES, TS, sql))
    return s + ("," + TIDB if tidb else "") + "}"


VALID = {
    "insert.json": dml("INSERT", "[" + ROW_NY + "]"),
    "update.json": dml("UPDATE", "[" + ROW_LA + "]", old="[" + ROW_NY + "]"),
    "delete.json": dml("DELETE", "[" + ROW_LA + "]"),
    "insert_no_tidb.json": dml("INSERT", "[" + ROW_NY + "]", tidb=False),
    "insert_multirow.json": dml("INSERT", '[{"id":"1","v":"a"},{"id":"2","v":"b"},{"id":"3","v":"c"}]'),
    "update_multirow.json": dml("UPDATE", '[{"id":"1","v":"x"},{"id":"2","v":"y"}]',
                                old='[{"id":"1","v":"a"},{"id":"2","v":"b"}]'),
    "insert_nulls.json": dml("INSERT", '[{"id":"7","note":null,"price":null}]', pk="[]"),
    "insert_unicode.json": dml(
        "INSERT",
        r'[{"id":"8","name":"caf\u00e9 \ud83d\ude00 \"q\" back\\slash\nnew","raw":"ünï"}]',
        table=r"caf\u00e9"),
    "insert_binary.json": dml("INSERT", r'[{"id":"9","blob":"\u0000\u0001\u00ff\u007f"}]'),
    "insert_big.json": dml("INSERT", '[{"id":"10","body":"' + ("abcdefghij" * 10240) + '"}]'),
    "insert_reordered.json": ('{"data":[{"id":"11"}],"old":null,"_tidb":{"commitTs":%d},"type":"INSERT",'
                              '"isDdl":false,"table":"t","database":"d","es":%d,"ts":%d,"sql":""}'
                              % (COMMIT, ES, TS)),
    "insert_pretty.json": ('{\n  "id": 0,\n  "database": "d",\n  "table": "t",\n  "isDdl": false,\n'
                           '  "type": "INSERT",\n  "es": %d,\n  "ts": %d,\n  "sql": "",\n'
                           '  "data": [ { "id": "12" } ],\n  "_tidb": { "commitTs": %d }\n}\n'
                           % (ES, TS, COMMIT)),
    "insert_pretty_row.json": ('{"database":"d","table":"t","isDdl":false,"type":"INSERT",'
                               '"data":[{\n\t"id": "14",\r\n\t"v": null\n}]}'),
    "insert_handlekey.json": dml("INSERT", '[{"id":"13"}]').replace(
        TIDB, '"_tidb":{"commitTs":%d,"onlyHandleKey":true,"claimCheckLocation":""}' % COMMIT),
    "ddl_create.json": ddl("CREATE", "CREATE TABLE `orders` (`id` INT PRIMARY KEY)"),
    "ddl_alter.json": ddl("ALTER", "ALTER TABLE `orders` ADD COLUMN `c1` INT"),
    "ddl_erase.json": ddl("ERASE", "DROP TABLE `orders`"),
    "ddl_truncate.json": ddl("TRUNCATE", "TRUNCATE TABLE `orders`"),
    "ddl_rename.json": ddl("RENAME", "RENAME TABLE `orders` TO `orders2`", table="orders2"),
    "ddl_cindex.json": ddl("CINDEX", "CREATE INDEX `i1` ON `orders` (`c1`)"),
    "ddl_dindex.json": ddl("DINDEX", "DROP INDEX `i1` ON `orders`"),
    "ddl_query.json": ddl("QUERY", "drop database if exists test", db="test", table=""),
    "ddl_no_tidb.json": ddl("ALTER", "ALTER TABLE `jiawei_test2` ADD COLUMN `c1` INT",
                            db="ticdc_canal_json_test", table="jiawei_test2", tidb=False),
    "watermark.json": ('{"id":0,"database":"","table":"","pkNames":null,"isDdl":false,'
                       '"type":"TIDB_WATERMARK","es":%d,"ts":%d,"sql":"","sqlType":null,'
                       '"mysqlType":null,"data":null,"old":null,"_tidb":{"watermarkTs":%d}}'
                       % (ES, TS, COMMIT)),
    "watermark_no_tidb.json": ('{"id":0,"database":"","table":"","pkNames":null,"isDdl":false,'
                               '"type":"TIDB_WATERMARK","es":%d,"ts":%d,"sql":"","sqlType":null,'
                               '"mysqlType":null,"data":null,"old":null}' % (ES, TS)),
}

INS = dml("INSERT", "[" + ROW_NY + "]")
rnd = random.Random(20241121)
MALFORMED = {
    "not_json.txt": "hello world",
    "truncated.json": INS[:len(INS) // 2],
    "truncated_end.json": INS[:-1],
    "array_top.json": "[" + INS + "]",
    "string_top.json": '"INSERT"',
    "number_top.json": "42",
    "missing_type.json": INS.replace('"type":"INSERT",', ""),
    "missing_isddl.json": INS.replace('"isDdl":false,', ""),
    "isddl_string.json": INS.replace('"isDdl":false', '"isDdl":"false"'),
    "isddl_number.json": INS.replace('"isDdl":false', '"isDdl":0'),
    "isddl_null.json": INS.replace('"isDdl":false', '"isDdl":null'),
    "type_number.json": INS.replace('"type":"INSERT"', '"type":1'),
    "type_null.json": INS.replace('"type":"INSERT"', '"type":null'),
    "type_unknown.json": INS.replace('"type":"INSERT"', '"type":"UPSERT"'),
    "type_lowercase.json": INS.replace('"type":"INSERT"', '"type":"insert"'),
    "data_object.json": INS.replace('"data":[' + ROW_NY + ']', '"data":' + ROW_NY),
    "data_null.json": INS.replace('"data":[' + ROW_NY + ']', '"data":null'),
    "data_missing.json": INS.replace('"data":[' + ROW_NY + '],', ""),
    "data_empty.json": INS.replace('"data":[' + ROW_NY + ']', '"data":[]'),
    "data_row_string.json": INS.replace('"data":[' + ROW_NY + ']', '"data":["101"]'),
    "value_number.json": INS.replace('"id":"101"', '"id":101'),
    "value_object.json": INS.replace('"id":"101"', '"id":{"v":"101"}'),
    "value_array.json": INS.replace('"id":"101"', '"id":["101"]'),
    "value_bool.json": INS.replace('"id":"101"', '"id":true'),
    "commitTs_negative.json": INS.replace(str(COMMIT), "-1"),
    "commitTs_overflow.json": INS.replace(str(COMMIT), "18446744073709551616"),
    "commitTs_huge.json": INS.replace(str(COMMIT), "99999999999999999999999"),
    "commitTs_float.json": INS.replace(str(COMMIT), "4.29918007904436226e17"),
    "commitTs_string.json": INS.replace(str(COMMIT), '"%d"' % COMMIT),
    "es_string.json": INS.replace('"es":%d' % ES, '"es":"%d"' % ES),
    "es_overflow.json": INS.replace('"es":%d' % ES, '"es":9223372036854775808'),
    "database_number.json": INS.replace('"database":"test"', '"database":5'),
    "table_missing.json": INS.replace('"table":"employee",', ""),
    "tidb_array.json": INS.replace(TIDB, '"_tidb":[1]'),
    "bad_escape.json": INS.replace('"New York"', r'"New\x York"'),
    "bad_unicode_escape.json": INS.replace('"New York"', r'"New \u12G4 York"'),
    "trailing_garbage.json": INS + " x",
    "two_objects.json": INS + INS,
    "nul_after.bin": INS + "\0",
    "nul_inside.bin": INS[:40] + "\0" + INS[41:],
    "empty.json": "",
    "whitespace.json": " \n\t ",
    "garbage.bin": bytes(rnd.randrange(256) for _ in range(512)),
    "garbage_braces.bin": b"{" + bytes(rnd.randrange(256) for _ in range(255)) + b"}",
    "unclosed_brackets.json": '{"data":' + "[" * 100,
    "missing_colon.json": '{"isDdl" false,"type":"INSERT"}',
    "key_not_string.json": '{1:2}',
    "value_raw_newline.json": INS.replace('"New York"', '"New\nYork"'),
    "value_raw_tab.json": INS.replace('"New York"', '"New\tYork"'),
    "table_raw_newline.json": INS.replace('"table":"employee"', '"table":"emp\nloyee"'),
}


def write(sub, name, data):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name, text in VALID.items():
    write("valid", name, text)
for name, text in MALFORMED.items():
    write("malformed", name, text)
