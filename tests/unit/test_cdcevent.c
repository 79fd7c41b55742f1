/* Unit tests for cdcevent.c: the exact CDC_EVENT lines for decoded canal-json
 * messages (DML, multi-row, DDL, database-level DDL, watermark, names that need
 * quoting, newlines and control characters that must not break the line). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "canal.h"
#include "cdcevent.h"
#include "util.h"

/* Decodes msg and returns the lines cdcevent_format writes (malloc'd). */
static char *lines_of(const char *msg, const char *topic, int32_t partition, int64_t offset)
{
    struct canal_decoder *d = canal_decoder_new();
    struct canal_msg m;
    char err[256];
    size_t len = strlen(msg);
    char *exact = malloc(len ? len : 1); /* no NUL after the message, like Kafka's */
    assert_non_null(exact);
    memcpy(exact, msg, len);
    int rc = canal_decode(d, exact, len, &m, err, sizeof err);
    if (rc != CC_OK)
        fail_msg("decode: %s", err);
    struct strbuf sb = {0};
    cdcevent_format(&sb, topic, partition, offset, &m);
    free(exact);
    canal_decoder_free(d);
    return strbuf_detach(&sb);
}

#define DML(db, table, type, data)                                                                 \
    "{\"id\":0,\"database\":\"" db "\",\"table\":\"" table "\",\"pkNames\":[\"id\"],"               \
    "\"isDdl\":false,\"type\":\"" type "\",\"es\":1640007049196,\"ts\":1640007050284,\"sql\":\"\","  \
    "\"sqlType\":{\"id\":4},\"mysqlType\":{\"id\":\"int\"},\"data\":" data ",\"old\":null,"           \
    "\"_tidb\":{\"commitTs\":429918007904436226}}"

#define DDL(db, table, type, sql)                                                                  \
    "{\"id\":0,\"database\":\"" db "\",\"table\":\"" table "\",\"pkNames\":null,\"isDdl\":true,"    \
    "\"type\":\"" type "\",\"es\":1640007049196,\"ts\":1640007050284,\"sql\":\"" sql "\","          \
    "\"sqlType\":null,\"mysqlType\":null,\"data\":null,\"old\":null}"

static void test_insert(void **state)
{
    (void)state;
    char *s = lines_of(DML("shop", "orders", "INSERT", "[{\"id\":\"1\",\"note\":null}]"), "t1", 3, 42);
    assert_string_equal(s, "CDC_EVENT topic=t1 partition=3 offset=42 database=shop table=orders op=insert "
                           "type=INSERT data={\"id\":\"1\",\"note\":null}\n");
    free(s);
}

static void test_multirow_update_delete(void **state)
{
    (void)state;
    char *s = lines_of(DML("shop", "orders", "UPDATE", "[{\"id\":\"1\"},{\"id\":\"2\"}]"), "t", 0, 9);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=9 database=shop table=orders op=update "
                           "type=UPDATE data={\"id\":\"1\"}\n"
                           "CDC_EVENT topic=t partition=0 offset=9 database=shop table=orders op=update "
                           "type=UPDATE data={\"id\":\"2\"}\n");
    free(s);
    s = lines_of(DML("shop", "orders", "DELETE", "[{\"id\":\"7\"}]"), "t", 1, 12345678901234LL);
    assert_string_equal(s, "CDC_EVENT topic=t partition=1 offset=12345678901234 database=shop table=orders "
                           "op=delete type=DELETE data={\"id\":\"7\"}\n");
    free(s);
}

static void test_ddl(void **state)
{
    (void)state;
    char *s = lines_of(DDL("shop", "orders", "CREATE", "CREATE TABLE `orders` (`id` INT, `s` VARCHAR(9) DEFAULT \\\"x\\\")"),
                       "t", 2, 5);
    assert_string_equal(s, "CDC_EVENT topic=t partition=2 offset=5 database=shop table=orders op=ddl type=CREATE "
                           "data=null sql=\"CREATE TABLE `orders` (`id` INT, `s` VARCHAR(9) DEFAULT \\\"x\\\")\"\n");
    free(s);
    /* database-level DDL: table "" is written as a JSON string */
    s = lines_of(DDL("test", "", "QUERY", "drop database if exists test"), "t", 0, 1);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=1 database=test table=\"\" op=ddl type=QUERY "
                           "data=null sql=\"drop database if exists test\"\n");
    free(s);
    /* a newline escape in the statement stays an escape: still one line */
    s = lines_of(DDL("shop", "t2", "ALTER", "ALTER TABLE t2\\nADD c INT"), "t", 0, 2);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=2 database=shop table=t2 op=ddl type=ALTER "
                           "data=null sql=\"ALTER TABLE t2\\nADD c INT\"\n");
    free(s);
}

static void test_watermark_has_no_line(void **state)
{
    (void)state;
    char *s = lines_of("{\"id\":0,\"database\":\"\",\"table\":\"\",\"pkNames\":null,\"isDdl\":false,"
                       "\"type\":\"TIDB_WATERMARK\",\"es\":1640007049196,\"ts\":1640007050284,\"sql\":\"\","
                       "\"sqlType\":null,\"mysqlType\":null,\"data\":null,\"old\":null,"
                       "\"_tidb\":{\"watermarkTs\":429918007904436226}}",
                       "t", 0, 1);
    assert_string_equal(s, "");
    free(s);
}

static void test_names_quoted(void **state)
{
    (void)state;
    /* spaces, escapes and non-ASCII make a name a JSON string; $ . - _ do not */
    char *s = lines_of(DML("my db", "caf\\u00e9", "INSERT", "[{\"id\":\"1\"}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=\"my db\" table=\"caf\\u00e9\" "
                           "op=insert type=INSERT data={\"id\":\"1\"}\n");
    free(s);
    s = lines_of(DML("a$b.c-d_e", "t=1", "INSERT", "[{\"id\":\"1\"}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=a$b.c-d_e table=\"t=1\" "
                           "op=insert type=INSERT data={\"id\":\"1\"}\n");
    free(s);
    s = lines_of(DML("ünï", "x", "INSERT", "[{\"id\":\"1\"}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=\"ünï\" table=x "
                           "op=insert type=INSERT data={\"id\":\"1\"}\n");
    free(s);
}

static void test_pretty_row_stays_one_line(void **state)
{
    (void)state;
    char *s = lines_of(DML("d", "t", "INSERT", "[ {\r\n \"id\": \"12\",\n \"v\": \"a\\nb\"\n} ]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=d table=t op=insert type=INSERT "
                           "data={   \"id\": \"12\",  \"v\": \"a\\nb\" }\n");
    free(s);    /* short rows, a break only in the last (overlapping) chunk, a tab kept */
    s = lines_of(DML("d", "t", "INSERT", "[{\n}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=d table=t op=insert type=INSERT "
                           "data={ }\n");
    free(s);
    s = lines_of(DML("d", "t", "INSERT", "[{\"id\":\"1\",\"name\":\"0123456789abcdef\"\r}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=d table=t op=insert type=INSERT "
                           "data={\"id\":\"1\",\"name\":\"0123456789abcdef\" }\n");
    free(s);
    s = lines_of(DML("d", "t", "INSERT", "[{\"id\":\t\"1\",\"name\":\"0123456789abcdef\"}]"), "t", 0, 0);
    assert_string_equal(s, "CDC_EVENT topic=t partition=0 offset=0 database=d table=t op=insert type=INSERT "
                           "data={\"id\":\t\"1\",\"name\":\"0123456789abcdef\"}\n");
    free(s);
}

static void test_segment_and_put(void **state)
{
    (void)state;
    struct canal_str db = {"shop", 4, 0}, tb = {"", 0, 0};
    size_t len;
    char *seg = cdcevent_segment(&db, &tb, &len);
    assert_int_equal(len, strlen(" database=shop table=\"\""));
    assert_memory_equal(seg, " database=shop table=\"\"", len);
    free(seg);
    /* raw control characters (invalid in JSON, but possible in garbage) are escaped */
    struct canal_str ctl = {"a\nb", 3, 0};
    seg = cdcevent_segment(&ctl, &db, &len);
    assert_int_equal(len, strlen(" database=\"a\\u000ab\" table=shop"));
    assert_memory_equal(seg, " database=\"a\\u000ab\" table=shop", len);
    free(seg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert),
        cmocka_unit_test(test_multirow_update_delete),
        cmocka_unit_test(test_ddl),
        cmocka_unit_test(test_watermark_has_no_line),
        cmocka_unit_test(test_names_quoted),
        cmocka_unit_test(test_pretty_row_stays_one_line),
        cmocka_unit_test(test_segment_and_put),
    };
    return cmocka_run_group_tests_name("cdcevent", tests, NULL, NULL);
}
