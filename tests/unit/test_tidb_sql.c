/* Unit tests for the TiDB module's SQL handling (no server): statement
 * splitting, grant validation, escaping of user names/hosts/passwords, scrubbing
 * of secrets from messages, PD store answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tidb.h"
#include "util.h"

static char *stmt(const char *sql, const struct sql_stmt *s)
{
    return xstrndup(sql + s->off, s->len);
}

static void test_split_basic(void **state)
{
    (void)state;
    const char *sql = "-- header; with a semicolon\n"
                      "CREATE DATABASE IF NOT EXISTS shop;\n"
                      "\n"
                      "# hash comment ;\n"
                      "CREATE TABLE IF NOT EXISTS shop.t (\n"
                      "  id INT PRIMARY KEY, -- trailing ; comment\n"
                      "  s VARCHAR(10) DEFAULT 'a;b', /* block ; comment */\n"
                      "  `we;ird` INT\n"
                      ");\n"
                      ";;  \n"
                      "INSERT INTO shop.t VALUES (1, 'it''s; \\'quoted\\';', 2)\n";
    struct sql_stmt *v = NULL;
    size_t n = 0;
    tidb_split_sql(sql, strlen(sql), &v, &n);
    assert_int_equal(n, 3);
    char *a = stmt(sql, &v[0]);
    assert_string_equal(a, "CREATE DATABASE IF NOT EXISTS shop");
    assert_int_equal(v[0].line, 2);
    free(a);
    a = stmt(sql, &v[1]);
    assert_true(strncmp(a, "CREATE TABLE IF NOT EXISTS shop.t (", 35) == 0);
    assert_non_null(strstr(a, "`we;ird` INT\n)"));
    assert_int_equal(v[1].line, 5);
    free(a);
    a = stmt(sql, &v[2]);
    assert_string_equal(a, "INSERT INTO shop.t VALUES (1, 'it''s; \\'quoted\\';', 2)");
    assert_int_equal(v[2].line, 11);
    free(a);
    free(v);
}

static void test_split_edges(void **state)
{
    (void)state;
    struct sql_stmt *v = NULL;
    size_t n = 0;
    /* only comments and blanks: nothing to run */
    const char *c = "-- nothing\n/* here ; */\n  ;\n# at all";
    tidb_split_sql(c, strlen(c), &v, &n);
    assert_int_equal(n, 0);
    free(v);
    /* "--" without a following blank is an operator, not a comment */
    const char *m = "SELECT 1--1; SELECT 2";
    tidb_split_sql(m, strlen(m), &v, &n);
    assert_int_equal(n, 2);
    char *a = stmt(m, &v[0]);
    assert_string_equal(a, "SELECT 1--1");
    free(a);
    free(v);
    /* executable comments are statements; a double-quoted string hides ';' */
    const char *e = "/*!40101 SET NAMES utf8mb4 */;\nSELECT \"x;y\"";
    tidb_split_sql(e, strlen(e), &v, &n);
    assert_int_equal(n, 2);
    a = stmt(e, &v[0]);
    assert_string_equal(a, "/*!40101 SET NAMES utf8mb4 */");
    free(a);
    a = stmt(e, &v[1]);
    assert_string_equal(a, "SELECT \"x;y\"");
    assert_int_equal(v[1].line, 2);
    free(a);
    free(v);
    /* an unterminated quote swallows the rest (the server reports the error) */
    const char *u = "SELECT 'abc; SELECT 2";
    tidb_split_sql(u, strlen(u), &v, &n);
    assert_int_equal(n, 1);
    free(v);
    tidb_split_sql("", 0, &v, &n);
    assert_int_equal(n, 0);
    free(v);
}

static void test_parse_grant(void **state)
{
    (void)state;
    char p[256], o[256], err[256];
    assert_int_equal(tidb_parse_grant("ALL PRIVILEGES ON shop.*", p, sizeof p, o, sizeof o, err,
                                      sizeof err),
                     CC_OK);
    assert_string_equal(p, "ALL PRIVILEGES");
    assert_string_equal(o, "shop.*");
    assert_int_equal(tidb_parse_grant("all on *.*", p, sizeof p, o, sizeof o, err, sizeof err),
                     CC_OK);
    assert_string_equal(p, "ALL PRIVILEGES");
    assert_string_equal(o, "*.*");
    assert_int_equal(tidb_parse_grant(" select,insert , show view ON `my db`.t1 ", p, sizeof p, o,
                                      sizeof o, err, sizeof err),
                     CC_OK);
    assert_string_equal(p, "SELECT, INSERT, SHOW VIEW");
    assert_string_equal(o, "`my db`.t1");
    /* anything that could smuggle SQL is refused */
    const char *bad[] = {
        "ALL ON shop.* TO 'x'@'%'",
        "ALL ON shop.*; DROP DATABASE shop",
        "ALL ON shop.* WITH GRANT OPTION",
        "ALL ON `sh`op`.*",
        "SELECT(id) ON shop.t",
        "ALL ON shop",
        "ON shop.*",
        "ALL PRIVILEGES shop.*",
        "ALL ON shop.t.x",
        "ALL ON sh-op.*",
        "ALL, ON shop.*",
        "SELECT /* x */ ON shop.*",
        "ALL ON ``.*",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(tidb_parse_grant(bad[i], p, sizeof p, o, sizeof o, err, sizeof err),
                         CC_EINVAL);
        assert_true(strncmp(err, "grant '", 7) == 0);
    }
}

static void test_user_sql_escaping(void **state)
{
    (void)state;
    struct tidb_conn *c = tidb_unconnected();
    char err[256];
    char *s = tidb_user_sql(c, 0, "shop_admin", "%", "pa'ss\"w\\d;--", NULL, err, sizeof err);
    assert_string_equal(s, "CREATE USER IF NOT EXISTS 'shop_admin'@'%' IDENTIFIED BY "
                           "'pa\\'ss\\\"w\\\\d;--'");
    free(s);
    s = tidb_user_sql(c, 1, "o'brien", "10.0.%", "x", NULL, err, sizeof err);
    assert_string_equal(s, "ALTER USER 'o\\'brien'@'10.0.%' IDENTIFIED BY 'x'");
    free(s);
    s = tidb_user_sql(c, 2, "a\\b", NULL, NULL, "select , insert on shop.*", err, sizeof err);
    assert_string_equal(s, "GRANT SELECT, INSERT ON shop.* TO 'a\\\\b'@'%'");
    free(s);
    s = tidb_user_sql(c, 3, "shop_admin", "%", NULL, NULL, err, sizeof err);
    assert_string_equal(s, "SHOW GRANTS FOR 'shop_admin'@'%'");
    free(s);
    /* an injection attempt in the name stays inside the literal */
    s = tidb_user_sql(c, 0, "x'@'%' IDENTIFIED BY 'y'; DROP USER root; --", "%", "p", NULL, err,
                      sizeof err);
    assert_string_equal(s, "CREATE USER IF NOT EXISTS 'x\\'@\\'%\\' IDENTIFIED BY \\'y\\'; "
                           "DROP USER root; --'@'%' IDENTIFIED BY 'p'");
    free(s);
    assert_null(tidb_user_sql(c, 0, "", "%", "p", NULL, err, sizeof err));
    assert_null(tidb_user_sql(c, 0, "a\nb", "%", "p", NULL, err, sizeof err));
    assert_null(tidb_user_sql(c, 2, "a", "%", NULL, "ALL ON x.* TO y", err, sizeof err));
    tidb_close(c);
}

static void test_scrub(void **state)
{
    (void)state;
    char msg[256];
    snprintf(msg, sizeof msg, "1064 near 'pa\\'ss' at line 1; raw pa'ss; doubled pa''ss");
    tidb_scrub(msg, "pa'ss");
    assert_string_equal(msg, "1064 near '***' at line 1; raw ***; doubled ***");
    snprintf(msg, sizeof msg, "ab x ab");
    tidb_scrub(msg, "ab");
    assert_string_equal(msg, "** x **");
    snprintf(msg, sizeof msg, "a *** b");
    tidb_scrub(msg, "***"); /* a secret that looks like the mask does not loop */
    assert_string_equal(msg, "a *** b");
    tidb_scrub(msg, NULL);
    tidb_scrub(msg, "");
    assert_string_equal(msg, "a *** b");
}

static void test_pd_stores(void **state)
{
    (void)state;
    char s[128];
    assert_int_equal(tidb_pd_stores_up("{\"count\":1,\"stores\":[{\"store\":{\"id\":1,\"address\":"
                                       "\"tikv0:20160\",\"state_name\":\"Up\"},\"status\":{}}]}",
                                       s, sizeof s),
                     1);
    assert_string_equal(s, "Up");
    assert_int_equal(tidb_pd_stores_up("{\"count\":2,\"stores\":[{\"store\":{\"state_name\":"
                                       "\"Disconnected\"}},{\"store\":{\"state_name\":\"Down\"}}]}",
                                       s, sizeof s),
                     0);
    assert_string_equal(s, "Disconnected, Down");
    assert_int_equal(tidb_pd_stores_up("{\"count\":0,\"stores\":null}", s, sizeof s), 0);
    assert_string_equal(s, "no stores yet");
    assert_int_equal(tidb_pd_stores_up("{\"count\":0}", s, sizeof s), 0);
    assert_int_equal(tidb_pd_stores_up("<html>", s, sizeof s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_basic),       cmocka_unit_test(test_split_edges),
        cmocka_unit_test(test_parse_grant),       cmocka_unit_test(test_user_sql_escaping),
        cmocka_unit_test(test_scrub),             cmocka_unit_test(test_pd_stores),
    };
    return cmocka_run_group_tests_name("tidb_sql", tests, NULL, NULL);
}
