/* Unit tests for canal.c: the corpus in tests/data/canal (valid/ with exact
 * expected fields, malformed/ with the reason), every truncation of every corpus
 * message, deterministic byte mutations, and canal_str_copy. Each message is
 * decoded from a heap buffer of exactly its length so ASan catches over-reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canal.h"
#include "util.h"

#define COMMIT 429918007904436226ULL
#define ES 1640007049196LL
#define TS 1640007050284LL

#define ROW_NY                                                                                  \
    "{\"FirstName\":\"Bob\",\"HireDate\":\"2014-06-04\",\"LastName\":\"Smith\","                 \
    "\"OfficeLocation\":\"New York\",\"id\":\"101\"}"
#define ROW_LA                                                                                  \
    "{\"FirstName\":\"Bob\",\"HireDate\":\"2015-10-08\",\"LastName\":\"Smith\","                 \
    "\"OfficeLocation\":\"Los Angeles\",\"id\":\"101\"}"

static char corpus_dir[PATH_MAX];

/* tests/data/canal relative to the repository: $CDCCTL_ROOT, else two levels above
 * this binary (build/tests/test_canal), else the working directory. */
static const char *corpus(void)
{
    if (corpus_dir[0])
        return corpus_dir;
    const char *root = getenv("CDCCTL_ROOT");
    char exe[PATH_MAX];
    if (root) {
        snprintf(corpus_dir, sizeof(corpus_dir), "%s/tests/data/canal", root);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
            exe[n] = '\0';
            snprintf(corpus_dir, sizeof(corpus_dir), "%s/../../tests/data/canal", dirname(exe));
        }
    }
    if (!corpus_dir[0] || access(corpus_dir, R_OK) != 0)
        snprintf(corpus_dir, sizeof(corpus_dir), "tests/data/canal");
    return corpus_dir;
}

/* The file as a heap buffer of exactly its size (no NUL after it). */
static char *load(const char *sub, const char *name, size_t *len)
{
    char path[PATH_MAX + 64], err[ERRLEN];
    char *text = NULL;
    snprintf(path, sizeof(path), "%s/%s/%s", corpus(), sub, name);
    if (read_file(path, &text, len, err, sizeof(err)) != CC_OK)
        fail_msg("%s", err);
    char *exact = malloc(*len ? *len : 1);
    assert_non_null(exact);
    memcpy(exact, text, *len);
    free(text);
    return exact;
}

static void assert_str(struct canal_str s, const char *want)
{
    char buf[256];
    assert_non_null(s.p);
    size_t n = canal_str_copy(s, buf, sizeof(buf));
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

struct expect {
    const char *file;
    enum canal_kind kind;
    const char *op;
    const char *db, *table, *type, *sql;
    int64_t es, ts;
    uint64_t commit_ts, watermark_ts;
    size_t nrows;
    const char *rows[3]; /* raw text; NULL = check elsewhere */
};

static const struct expect valid[] = {
    {"insert.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS, COMMIT, 0, 1,
     {ROW_NY}},
    {"update.json", CANAL_DML, "update", "test", "employee", "UPDATE", "", ES, TS, COMMIT, 0, 1,
     {ROW_LA}},
    {"delete.json", CANAL_DML, "delete", "test", "employee", "DELETE", "", ES, TS, COMMIT, 0, 1,
     {ROW_LA}},
    {"insert_no_tidb.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS, 0, 0,
     1, {ROW_NY}},
    {"insert_multirow.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS,
     COMMIT, 0, 3,
     {"{\"id\":\"1\",\"v\":\"a\"}", "{\"id\":\"2\",\"v\":\"b\"}", "{\"id\":\"3\",\"v\":\"c\"}"}},
    {"update_multirow.json", CANAL_DML, "update", "test", "employee", "UPDATE", "", ES, TS,
     COMMIT, 0, 2, {"{\"id\":\"1\",\"v\":\"x\"}", "{\"id\":\"2\",\"v\":\"y\"}"}},
    {"insert_nulls.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS, COMMIT,
     0, 1, {"{\"id\":\"7\",\"note\":null,\"price\":null}"}},
    {"insert_unicode.json", CANAL_DML, "insert", "test", "caf\xc3\xa9", "INSERT", "", ES, TS,
     COMMIT, 0, 1,
     {"{\"id\":\"8\",\"name\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" back\\\\slash\\nnew\","
      "\"raw\":\"\xc3\xbcn\xc3\xaf\"}"}},
    {"insert_binary.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS, COMMIT,
     0, 1, {"{\"id\":\"9\",\"blob\":\"\\u0000\\u0001\\u00ff\\u007f\"}"}},
    {"insert_big.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS, COMMIT, 0,
     1, {NULL}},
    {"insert_reordered.json", CANAL_DML, "insert", "d", "t", "INSERT", "", ES, TS, COMMIT, 0, 1,
     {"{\"id\":\"11\"}"}},
    {"insert_pretty.json", CANAL_DML, "insert", "d", "t", "INSERT", "", ES, TS, COMMIT, 0, 1,
     {"{ \"id\": \"12\" }"}},
    {"insert_pretty_row.json", CANAL_DML, "insert", "d", "t", "INSERT", "", 0, 0, 0, 0, 1,
     {"{\n\t\"id\": \"14\",\r\n\t\"v\": null\n}"}},
    {"insert_handlekey.json", CANAL_DML, "insert", "test", "employee", "INSERT", "", ES, TS,
     COMMIT, 0, 1, {"{\"id\":\"13\"}"}},
    {"ddl_create.json", CANAL_DDL, "ddl", "shop", "orders", "CREATE",
     "CREATE TABLE `orders` (`id` INT PRIMARY KEY)", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_alter.json", CANAL_DDL, "ddl", "shop", "orders", "ALTER",
     "ALTER TABLE `orders` ADD COLUMN `c1` INT", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_erase.json", CANAL_DDL, "ddl", "shop", "orders", "ERASE", "DROP TABLE `orders`", ES, TS,
     COMMIT, 0, 0, {NULL}},
    {"ddl_truncate.json", CANAL_DDL, "ddl", "shop", "orders", "TRUNCATE",
     "TRUNCATE TABLE `orders`", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_rename.json", CANAL_DDL, "ddl", "shop", "orders2", "RENAME",
     "RENAME TABLE `orders` TO `orders2`", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_cindex.json", CANAL_DDL, "ddl", "shop", "orders", "CINDEX",
     "CREATE INDEX `i1` ON `orders` (`c1`)", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_dindex.json", CANAL_DDL, "ddl", "shop", "orders", "DINDEX",
     "DROP INDEX `i1` ON `orders`", ES, TS, COMMIT, 0, 0, {NULL}},
    {"ddl_query.json", CANAL_DDL, "ddl", "test", "", "QUERY", "drop database if exists test", ES,
     TS, COMMIT, 0, 0, {NULL}},
    {"ddl_no_tidb.json", CANAL_DDL, "ddl", "ticdc_canal_json_test", "jiawei_test2", "ALTER",
     "ALTER TABLE `jiawei_test2` ADD COLUMN `c1` INT", ES, TS, 0, 0, 0, {NULL}},
    {"watermark.json", CANAL_WATERMARK, NULL, "", "", "TIDB_WATERMARK", "", ES, TS, 0, COMMIT, 0,
     {NULL}},
    {"watermark_no_tidb.json", CANAL_WATERMARK, NULL, "", "", "TIDB_WATERMARK", "", ES, TS, 0, 0,
     0, {NULL}},
};

static size_t count_dir(const char *sub)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", corpus(), sub);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static void test_valid_corpus(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    assert_int_equal(count_dir("valid"), sizeof(valid) / sizeof(valid[0]));
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const struct expect *x = &valid[i];
        size_t len;
        char *buf = load("valid", x->file, &len);
        struct canal_msg m;
        char err[ERRLEN] = "";
        int rc = canal_decode(d, buf, len, &m, err, sizeof(err));
        if (rc != CC_OK)
            fail_msg("%s: %s", x->file, err);
        assert_int_equal(m.kind, x->kind);
        if (x->op)
            assert_string_equal(m.op, x->op);
        else
            assert_null(m.op);
        assert_str(m.database, x->db);
        assert_str(m.table, x->table);
        assert_str(m.type, x->type);
        assert_str(m.sql, x->sql);
        assert_true(m.es_ms == x->es);
        assert_true(m.ts_ms == x->ts);
        assert_true(m.commit_ts == x->commit_ts);
        assert_true(m.watermark_ts == x->watermark_ts);
        assert_int_equal(m.nrows, x->nrows);
        for (size_t r = 0; r < m.nrows; r++) {
            assert_true(m.rows[r].json >= buf && m.rows[r].json + m.rows[r].len <= buf + len);
            if (!x->rows[r])
                continue;
            assert_int_equal(m.rows[r].len, strlen(x->rows[r]));
            assert_memory_equal(m.rows[r].json, x->rows[r], m.rows[r].len);
        }
        if (strcmp(x->file, "insert_big.json") == 0) {
            /* {"id":"10","body":"<10 KiB x abcdefghij>"} */
            assert_int_equal(m.rows[0].len, strlen("{\"id\":\"10\",\"body\":\"\"}") + 102400);
            assert_memory_equal(m.rows[0].json, "{\"id\":\"10\",\"body\":\"abcdefghij", 28);
            assert_memory_equal(m.rows[0].json + m.rows[0].len - 4, "ij\"}", 4);
        }
        free(buf);
    }
    canal_decoder_free(d);
}

struct bad {
    const char *file;
    const char *reason; /* substring of err */
};

static const struct bad malformed[] = {
    {"not_json.txt", "not JSON: invalid character at offset 0"},
    {"truncated.json", "not JSON: truncated"},
    {"truncated_end.json", "not JSON: truncated"},
    {"array_top.json", "not a JSON object: top level is an array"},
    {"string_top.json", "not a JSON object: top level is a string"},
    {"number_top.json", "not a JSON object: top level is a number"},
    {"missing_type.json", "type: missing"},
    {"missing_isddl.json", "isDdl: missing"},
    {"isddl_string.json", "isDdl: is a string, want a boolean"},
    {"isddl_number.json", "isDdl: is a number, want a boolean"},
    {"isddl_null.json", "isDdl: is null, want a boolean"},
    {"type_number.json", "type: is a number, want a string"},
    {"type_null.json", "type: is null, want a string"},
    {"type_unknown.json", "type: unknown DML type \"UPSERT\""},
    {"type_lowercase.json", "type: unknown DML type \"insert\""},
    {"data_object.json", "data: is an object, want an array of rows"},
    {"data_null.json", "data: is null, want an array of rows"},
    {"data_missing.json", "data: missing for insert"},
    {"data_empty.json", "data: empty array"},
    {"data_row_string.json", "data[0]: is a string, want an object"},
    {"value_number.json", "data[0]: column \"id\" is a number, want a string or null"},
    {"value_object.json", "data[0]: column \"id\" is an object, want a string or null"},
    {"value_array.json", "data[0]: column \"id\" is an array, want a string or null"},
    {"value_bool.json", "data[0]: column \"id\" is a boolean, want a string or null"},
    {"commitTs_negative.json", "_tidb.commitTs: negative"},
    {"commitTs_overflow.json", "_tidb.commitTs: out of range"},
    {"commitTs_huge.json", "_tidb.commitTs: out of range"},
    {"commitTs_float.json", "_tidb.commitTs: not an integer"},
    {"commitTs_string.json", "_tidb.commitTs: is a string, want an integer"},
    {"es_string.json", "es: is a string, want an integer"},
    {"es_overflow.json", "es: out of range"},
    {"database_number.json", "database: is a number, want a string"},
    {"table_missing.json", "table: missing for insert"},
    {"tidb_array.json", "_tidb: is an array, want an object"},
    {"bad_escape.json", "not JSON: invalid character"},
    {"bad_unicode_escape.json", "not JSON: invalid character"},
    {"trailing_garbage.json", "not JSON"},
    {"two_objects.json", "not JSON: trailing data"},
    {"nul_after.bin", "not JSON: trailing data"},
    {"nul_inside.bin", "not JSON"},
    {"empty.json", "empty message"},
    {"whitespace.json", "not JSON: no value"},
    {"garbage.bin", "not "},
    {"garbage_braces.bin", "not JSON"},
    {"unclosed_brackets.json", "not JSON: truncated"},
    {"missing_colon.json", "not JSON"},
    {"key_not_string.json", "not JSON"},
    {"value_raw_newline.json", "data[0]: raw control character in a string"},
    {"value_raw_tab.json", "data[0]: raw control character in a string"},
    {"table_raw_newline.json", "table: raw control character in the string"},
};

static void test_malformed_corpus(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    assert_int_equal(count_dir("malformed"), sizeof(malformed) / sizeof(malformed[0]));
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        size_t len;
        char *buf = load("malformed", malformed[i].file, &len);
        struct canal_msg m;
        char err[ERRLEN] = "";
        int rc = canal_decode(d, buf, len, &m, err, sizeof(err));
        print_message("%s: %s\n", malformed[i].file, err);
        if (rc != CC_EINVAL)
            fail_msg("%s: rc %d, want CC_EINVAL", malformed[i].file, rc);
        if (!strstr(err, malformed[i].reason))
            fail_msg("%s: reason \"%s\" lacks \"%s\"", malformed[i].file, err,
                     malformed[i].reason);
        free(buf);
    }
    canal_decoder_free(d);
}

/* Decoding a copy of buf[0..len) must give CC_OK or CC_EINVAL (with a reason). */
static int decode_copy(struct canal_decoder *d, const char *buf, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, buf, len);
    struct canal_msg m;
    char err[ERRLEN] = "";
    int rc = canal_decode(d, copy, len, &m, err, sizeof(err));
    if (rc == CC_OK) {
        for (size_t r = 0; r < m.nrows; r++)
            assert_true(m.rows[r].json >= copy && m.rows[r].json + m.rows[r].len <= copy + len);
    } else {
        assert_int_equal(rc, CC_EINVAL);
        assert_true(err[0] != '\0');
    }
    free(copy);
    return rc;
}

static void for_each_file(const char *sub, void (*fn)(struct canal_decoder *, const char *,
                                                      const char *, size_t))
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", corpus(), sub);
    DIR *dir = opendir(path);
    assert_non_null(dir);
    struct canal_decoder *d = canal_decoder_new();
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len;
        char *buf = load(sub, e->d_name, &len);
        fn(d, e->d_name, buf, len);
        free(buf);
    }
    closedir(dir);
    canal_decoder_free(d);
}

static bool only_space(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\n' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

/* Every prefix of a valid message: none decodes (a proper prefix of an object is
 * never an object, unless only trailing whitespace was cut off). */
static void prefixes_valid(struct canal_decoder *d, const char *name, const char *buf,
                           size_t len)
{
    /* every prefix; for the 100 KB message every prefix of the first and last 4 KB
     * and every 97th in between */
    for (size_t n = 0; n < len; n++) {
        if (len > 16384 && n > 4096 && n < len - 4096 && n % 97 != 0)
            continue;
        int rc = decode_copy(d, buf, n);
        if (rc == CC_OK && !only_space(buf + n, len - n))
            fail_msg("%s: prefix of %zu bytes decoded", name, n);
    }
}

/* Every prefix of a malformed message: no crash (some prefixes are valid, e.g.
 * the object before trailing garbage). */
static void prefixes_malformed(struct canal_decoder *d, const char *name, const char *buf,
                               size_t len)
{
    (void)name;
    for (size_t n = 0; n < len; n++)
        decode_copy(d, buf, n);
}

static void test_truncations(void **state)
{
    (void)state;
    for_each_file("valid", prefixes_valid);
    for_each_file("malformed", prefixes_malformed);
}

static void mutations(struct canal_decoder *d, const char *name, const char *buf, size_t len)
{
    (void)name;
    if (len > 16384 || len == 0)
        return;
    static const char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', 'n', 't', '\0',
                                 'x', ' ', (char)0xff, '-'};
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t pos = 0; pos < len; pos++) {
        memcpy(copy, buf, len);
        copy[pos] = subst[pos % sizeof(subst)];
        decode_copy(d, copy, len);
        copy[pos] = subst[(pos * 7 + 3) % sizeof(subst)];
        decode_copy(d, copy, len);
    }
    free(copy);
}

static void test_mutations(void **state)
{
    (void)state;
    for_each_file("valid", mutations);
}

/* The decoder's buffers are reused: a big message, then small ones, then a
 * message with many rows and many tokens. */
static void test_reuse_and_growth(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    struct strbuf sb = {0};
    strbuf_adds(&sb, "{\"database\":\"d\",\"table\":\"t\",\"isDdl\":false,\"type\":\"INSERT\","
                     "\"data\":[");
    for (int i = 0; i < 1000; i++)
        strbuf_addf(&sb, "%s{\"id\":\"%d\",\"a\":null,\"b\":\"x\"}", i ? "," : "", i);
    strbuf_adds(&sb, "]}");
    struct canal_msg m;
    char err[ERRLEN];
    for (int round = 0; round < 3; round++) {
        assert_int_equal(canal_decode(d, sb.buf, sb.len, &m, err, sizeof(err)), CC_OK);
        assert_int_equal(m.nrows, 1000);
        assert_int_equal(m.rows[999].len, strlen("{\"id\":\"999\",\"a\":null,\"b\":\"x\"}"));
        assert_memory_equal(m.rows[999].json, "{\"id\":\"999\",", 12);
        const char *small = "{\"isDdl\":true,\"type\":\"QUERY\",\"database\":\"x\","
                            "\"table\":\"\",\"sql\":\"create database x\"}";
        assert_int_equal(canal_decode(d, small, strlen(small), &m, err, sizeof(err)), CC_OK);
        assert_int_equal(m.kind, CANAL_DDL);
        assert_int_equal(m.nrows, 0);
        assert_null(m.rows);
    }
    strbuf_release(&sb);
    canal_decoder_free(d);
}

/* sql null and missing database/table for DDL are "" (never NULL). */
static void test_normalised_strings(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    const char *msg = "{\"isDdl\":true,\"type\":\"QUERY\",\"sql\":null}";
    struct canal_msg m;
    char err[ERRLEN];
    assert_int_equal(canal_decode(d, msg, strlen(msg), &m, err, sizeof(err)), CC_OK);
    assert_non_null(m.database.p);
    assert_int_equal(m.database.len, 0);
    assert_non_null(m.table.p);
    assert_non_null(m.sql.p);
    assert_int_equal(m.sql.len, 0);
    assert_true(m.es_ms == 0 && m.ts_ms == 0 && m.commit_ts == 0);
    /* the largest values that fit */
    msg = "{\"isDdl\":false,\"type\":\"TIDB_WATERMARK\",\"es\":-9223372036854775808,"
          "\"ts\":9223372036854775807,\"_tidb\":{\"watermarkTs\":18446744073709551615}}";
    assert_int_equal(canal_decode(d, msg, strlen(msg), &m, err, sizeof(err)), CC_OK);
    assert_true(m.es_ms == INT64_MIN);
    assert_true(m.ts_ms == INT64_MAX);
    assert_true(m.watermark_ts == UINT64_MAX);
    canal_decoder_free(d);
}

/* Every byte value at every position of a row value (and of the table name):
 * bytes < 0x20 are rejected, all others accepted (the word-at-a-time scan). */
static void test_control_bytes(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    char msg[256], val[40], err[ERRLEN];
    struct canal_msg m;
    for (int b = 1; b < 256; b++) {
        if (b == '"' || b == '\\')
            continue;
        for (int pos = 0; pos < 19; pos++) {
            memset(val, 'a', 19);
            val[19] = '\0';
            val[pos] = (char)b;
            int n = snprintf(msg, sizeof(msg),
                             "{\"database\":\"d\",\"table\":\"t\",\"isDdl\":false,"
                             "\"type\":\"INSERT\",\"data\":[{\"c\":\"%s\"}]}",
                             val);
            int rc = canal_decode(d, msg, (size_t)n, &m, err, sizeof(err));
            /* bytes >= 0x80 pass: UTF-8 is not validated */
            if (b < 0x20) {
                assert_int_equal(rc, CC_EINVAL);
                assert_non_null(strstr(err, "raw control character"));
            } else {
                assert_int_equal(rc, CC_OK);
            }
            n = snprintf(msg, sizeof(msg),
                         "{\"database\":\"d\",\"table\":\"%s\",\"isDdl\":true,"
                         "\"type\":\"CREATE\"}",
                         val);
            rc = canal_decode(d, msg, (size_t)n, &m, err, sizeof(err));
            assert_int_equal(rc, b < 0x20 ? CC_EINVAL : CC_OK);
        }
    }
    canal_decoder_free(d);
}

static void check_copy(const char *escaped, const char *want, size_t wantlen)
{
    struct canal_str s = {escaped, strlen(escaped), strchr(escaped, '\\') != NULL};
    char out[128];
    memset(out, 'Z', sizeof(out));
    size_t n = canal_str_copy(s, out, sizeof(out));
    assert_int_equal(n, wantlen);
    assert_memory_equal(out, want, wantlen);
    assert_int_equal(out[wantlen], '\0');
}

#define CHECK_COPY(in, want) check_copy(in, want, sizeof(want) - 1)

static void test_str_copy(void **state)
{
    (void)state;
    CHECK_COPY("plain", "plain");
    CHECK_COPY("", "");
    CHECK_COPY("a\\\"b\\\\c\\/d", "a\"b\\c/d");
    CHECK_COPY("\\b\\f\\n\\r\\t", "\b\f\n\r\t");
    CHECK_COPY("caf\\u00e9", "caf\xc3\xa9");
    CHECK_COPY("\\u0041\\u00E9\\u20ac", "A\xc3\xa9\xe2\x82\xac");
    CHECK_COPY("\\ud83d\\ude00!", "\xf0\x9f\x98\x80!");
    CHECK_COPY("\\uD83D\\uDE00", "\xf0\x9f\x98\x80");
    CHECK_COPY("\\udbff\\udfff", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    CHECK_COPY("raw \xc3\xbc\\n", "raw \xc3\xbc\n");
    CHECK_COPY("\\u0000x", "\0x");
    /* replacement policy: U+FFFD for lone surrogates and invalid escapes */
    CHECK_COPY("\\ud83dx", "\xef\xbf\xbdx");
    CHECK_COPY("\\ude00", "\xef\xbf\xbd");
    CHECK_COPY("\\ud83d\\u0041", "\xef\xbf\xbd" "A");
    CHECK_COPY("\\ud83d\\ud83d\\ude00", "\xef\xbf\xbd\xf0\x9f\x98\x80");
    CHECK_COPY("a\\xb", "a\xef\xbf\xbd" "b");
    CHECK_COPY("\\u12G4", "\xef\xbf\xbd" "12G4");
    CHECK_COPY("\\u12", "\xef\xbf\xbd" "12");
    CHECK_COPY("end\\", "end\xef\xbf\xbd");

    /* null -> "" */
    struct canal_str nul = {NULL, 0, 0};
    char out[8] = "xxxxxxx";
    assert_int_equal(canal_str_copy(nul, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    /* truncation like snprintf, never cutting a character in half */
    struct canal_str s = {"abcdef", 6, 0};
    assert_int_equal(canal_str_copy(s, out, 3), 6);
    assert_string_equal(out, "ab");
    assert_int_equal(canal_str_copy(s, NULL, 0), 6);
    struct canal_str e = {"a\\u00e9b", 8, 1};
    assert_int_equal(canal_str_copy(e, out, 3), 4);
    assert_string_equal(out, "a");
    assert_int_equal(canal_str_copy(e, out, 4), 4);
    assert_string_equal(out, "a\xc3\xa9");
    struct canal_str raw = {"a\xc3\xa9z", 4, 0};
    assert_int_equal(canal_str_copy(raw, out, 3), 4);
    assert_string_equal(out, "a");
    assert_int_equal(canal_str_copy(raw, out, 1), 4);
    assert_string_equal(out, "");
    struct canal_str emoji = {"\\ud83d\\ude00\\ud83d\\ude00", 24, 1};
    assert_int_equal(canal_str_copy(emoji, out, 8), 8);
    assert_string_equal(out, "\xf0\x9f\x98\x80");
    /* nothing after a character that did not fit, even if a later one would */
    struct canal_str mix = {"ab\\u20acc", 9, 1};
    assert_int_equal(canal_str_copy(mix, out, 4), 6);
    assert_string_equal(out, "ab");
}

/* A value decoded from the corpus unescapes as a user would read it. */
static void test_unicode_values(void **state)
{
    (void)state;
    size_t len;
    char *buf = load("valid", "insert_unicode.json", &len);
    struct canal_decoder *d = canal_decoder_new();
    struct canal_msg m;
    char err[ERRLEN];
    assert_int_equal(canal_decode(d, buf, len, &m, err, sizeof(err)), CC_OK);
    assert_true(m.table.escaped);
    assert_false(m.database.escaped);
    /* "name" value inside the raw row text */
    const char *v = strstr(m.rows[0].json, "\"name\":\"") + 8;
    const char *end = strstr(v, "\",\"raw\"");
    struct canal_str s = {v, (size_t)(end - v), 1};
    char out[64];
    canal_str_copy(s, out, sizeof(out));
    assert_string_equal(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" back\\slash\nnew");
    canal_decoder_free(d);
    free(buf);
}

/* Whitespace is allowed between any two tokens, also inside _tidb and right
 * after a key the decoder matches whole. */
static void test_whitespace_in_tidb(void **state)
{
    (void)state;
    static const char *const tidb[] = {
        "{\"commitTs\": 123}", "{\"commitTs\":123 }", "{ \"commitTs\" : 123 }",
        "{\"x\":[1, 2],\"commitTs\":\t123}", "{\n\"commitTs\":\n123\n}",
    };
    struct canal_decoder *d = canal_decoder_new();
    for (size_t i = 0; i < sizeof(tidb) / sizeof(tidb[0]); i++) {
        char buf[512], err[ERRLEN] = "";
        int n = snprintf(buf, sizeof(buf),
                         "{\"isDdl\":false,\"type\":\"INSERT\",\"database\":\"d\",\"table\":\"t\","
                         "\"data\":[{\"a\":\"1\"}],\"es\": 5,\"_tidb\":%s}", tidb[i]);
        struct canal_msg m;
        int rc = canal_decode(d, buf, (size_t)n, &m, err, sizeof(err));
        if (rc != CC_OK)
            fail_msg("_tidb %s: %s", tidb[i], err);
        assert_int_equal(m.commit_ts, 123);
        assert_int_equal(m.es_ms, 5);
    }
    canal_decoder_free(d);
}

/* ---- shortcuts: the predicted key order and the memo change nothing ---- */

/* A span of buf as an offset (or -1 for NULL, -2 for a static "") and a length. */
static void expect_same_str(const char *what, struct canal_str a, const char *abuf, struct canal_str b,
                            const char *bbuf, size_t len)
{
    long oa = !a.p ? -1 : (a.p >= abuf && a.p <= abuf + len) ? a.p - abuf : -2;
    long ob = !b.p ? -1 : (b.p >= bbuf && b.p <= bbuf + len) ? b.p - bbuf : -2;
    if (oa != ob || a.len != b.len || a.escaped != b.escaped)
        fail_msg("%s differs: %ld+%zu (esc %d) vs %ld+%zu (esc %d)", what, oa, a.len, a.escaped, ob,
                 b.len, b.escaped);
}

/* buf[0..len) decoded by `fast` (shortcuts on, primed with `prime` first so the
 * memo holds its values) and by `plain` (shortcuts off) gives the same status,
 * reason and fields. Each decoder reads its own copy of exactly len bytes. */
static void expect_same(struct canal_decoder *fast, struct canal_decoder *plain, const char *prime,
                        size_t prime_len, const char *buf, size_t len, const char *name, size_t pos)
{
    struct canal_msg ma, mb;
    char ea[ERRLEN] = "", eb[ERRLEN] = "";
    char *pa = malloc(prime_len ? prime_len : 1), *a = malloc(len ? len : 1), *b = malloc(len ? len : 1);
    assert_true(pa && a && b);
    memcpy(pa, prime, prime_len);
    memcpy(a, buf, len);
    memcpy(b, buf, len);
    canal_decode(fast, pa, prime_len, &ma, ea, sizeof(ea));
    int ra = canal_decode(fast, a, len, &ma, ea, sizeof(ea));
    int rb = canal_decode(plain, b, len, &mb, eb, sizeof(eb));
    if (ra != rb || (ra != CC_OK && strcmp(ea, eb) != 0))
        fail_msg("%s mutated at %zu: with shortcuts rc %d \"%s\", without rc %d \"%s\"", name, pos, ra,
                 ra ? ea : "", rb, rb ? eb : "");
    if (ra == CC_OK) {
        assert_int_equal(ma.kind, mb.kind);
        assert_true(ma.op == mb.op);
        expect_same_str("database", ma.database, a, mb.database, b, len);
        expect_same_str("table", ma.table, a, mb.table, b, len);
        expect_same_str("type", ma.type, a, mb.type, b, len);
        expect_same_str("sql", ma.sql, a, mb.sql, b, len);
        assert_int_equal(ma.es_ms, mb.es_ms);
        assert_int_equal(ma.ts_ms, mb.ts_ms);
        assert_int_equal(ma.commit_ts, mb.commit_ts);
        assert_int_equal(ma.watermark_ts, mb.watermark_ts);
        assert_int_equal(ma.nrows, mb.nrows);
        for (size_t r = 0; r < ma.nrows; r++) {
            assert_int_equal(ma.rows[r].json - a, mb.rows[r].json - b);
            assert_int_equal(ma.rows[r].len, mb.rows[r].len);
        }
    }
    free(pa);
    free(a);
    free(b);
}

/* Every corpus message, each of its byte substitutions, deletions and
 * duplications, and its prefixes: the same with and without shortcuts, the fast
 * decoder primed with the unchanged message each time (so its memo holds the
 * message's pkNames, sqlType and mysqlType and a changed copy of them must be
 * scanned again). */
static void shortcuts_same(struct canal_decoder *fast, const char *name, const char *buf, size_t len)
{
    if (len > 16384 || len == 0)
        return;
    struct canal_decoder *plain = canal_decoder_new();
    canal_decoder_set_shortcuts(plain, 0);
    static const char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', 'n', 't', '\0',
                                 'x', ' ', (char)0xff, '-', '9', '.', 'e', 'f'};
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    expect_same(fast, plain, buf, len, buf, len, name, 0);
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t k = 0; k < 3; k++) {
            memcpy(copy, buf, len);
            copy[pos] = subst[(pos * (2 * k + 1) + k) % sizeof(subst)];
            expect_same(fast, plain, buf, len, copy, len, name, pos);
        }
        memcpy(copy, buf, pos); /* byte pos deleted */
        memcpy(copy + pos, buf + pos + 1, len - pos - 1);
        expect_same(fast, plain, buf, len, copy, len - 1, name, pos);
        memcpy(copy, buf, pos + 1); /* byte pos doubled */
        memcpy(copy + pos + 1, buf + pos, len - pos);
        expect_same(fast, plain, buf, len, copy, len + 1, name, pos);
        expect_same(fast, plain, buf, len, buf, pos, name, pos); /* prefix */
    }
    free(copy);
    canal_decoder_free(plain);
}

static void test_shortcuts_change_nothing(void **state)
{
    (void)state;
    for_each_file("valid", shortcuts_same);
    for_each_file("malformed", shortcuts_same);
}

/* The memo recognises a value by its whole text, per table: a table whose
 * sqlType differs from the one remembered, and the same text under another table,
 * are read correctly; a changed value of the same table is scanned again. */
static void test_memo_per_table(void **state)
{
    (void)state;
    struct canal_decoder *d = canal_decoder_new();
    struct canal_msg m;
    char err[ERRLEN];
    const char *fmt = "{\"id\":0,\"database\":\"shop\",\"table\":\"%s\",\"pkNames\":[\"id\"],"
                      "\"isDdl\":false,\"type\":\"INSERT\",\"es\":1,\"ts\":2,\"sql\":\"\","
                      "\"sqlType\":%s,\"mysqlType\":{\"id\":\"int\"},\"data\":[{\"id\":\"1\"}],"
                      "\"old\":null}";
    const struct {
        const char *table, *sqltype;
        int rc;
    } seq[] = {
        {"a", "{\"id\":4}", CC_OK},  {"a", "{\"id\":4}", CC_OK},   {"b", "{\"id\":4}", CC_OK},
        {"a", "{\"id\":4,}", CC_EINVAL}, {"a", "{\"id\":4}", CC_OK}, {"a", "{\"id\":42}", CC_OK},
        {"a", "{\"id\":4", CC_EINVAL},   {"a", "{\"id\":4}}", CC_EINVAL}, {"b", "[\"id\"]", CC_OK},
        {"b", "\"x\"", CC_OK},           {"b", "\"x\\q\"", CC_EINVAL},   {"b", "\"x\"", CC_OK},
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), fmt, seq[i].table, seq[i].sqltype);
        int rc = canal_decode(d, buf, (size_t)n, &m, err, sizeof(err));
        if (rc != seq[i].rc)
            fail_msg("step %zu (%s %s): rc %d (%s), want %d", i, seq[i].table, seq[i].sqltype, rc,
                     rc ? err : "", seq[i].rc);
        if (rc == CC_OK) {
            assert_int_equal(m.nrows, 1);
            assert_int_equal(m.table.len, 1);
            assert_memory_equal(m.table.p, seq[i].table, 1);
        }
    }
    /* more remembered text than the memo keeps (600 tables with a 3 KB sqlType):
     * the values it no longer stores are scanned, every message still decodes */
    struct strbuf sb = {0};
    for (int round = 0; round < 2; round++) {
        for (int t = 0; t < 600; t++) {
            strbuf_reset(&sb);
            strbuf_addf(&sb, "{\"database\":\"d\",\"table\":\"t%d\",\"isDdl\":false,"
                             "\"type\":\"DELETE\",\"sqlType\":{", t);
            for (int c = 0; c < 200; c++)
                strbuf_addf(&sb, "%s\"column_%04d\":%d", c ? "," : "", c, c % 13);
            strbuf_addf(&sb, "},\"data\":[{\"id\":\"%d\"}]}", t);
            if (canal_decode(d, sb.buf, sb.len, &m, err, sizeof(err)) != CC_OK)
                fail_msg("table t%d round %d: %s", t, round, err);
            assert_int_equal(m.nrows, 1);
        }
    }
    strbuf_release(&sb);
    canal_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_corpus),
        cmocka_unit_test(test_malformed_corpus),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_reuse_and_growth),
        cmocka_unit_test(test_normalised_strings),
        cmocka_unit_test(test_control_bytes),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_unicode_values),
        cmocka_unit_test(test_whitespace_in_tidb),
        cmocka_unit_test(test_shortcuts_change_nothing),
        cmocka_unit_test(test_memo_per_table),
    };
    return cmocka_run_group_tests_name("canal", tests, NULL, NULL);
}
