/* Unit tests for the TiCDC client's pure parts: ids, TSOs, answers, errors, sink
 * URIs (default, masking, semantic diff) and replica config diff/merge. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ticdc.h"

static void test_changefeed_id(void **state)
{
    (void)state;
    assert_true(ticdc_valid_changefeed_id("shop-cdc"));
    assert_true(ticdc_valid_changefeed_id("a"));
    assert_true(ticdc_valid_changefeed_id("A1-b2-C3"));
    assert_false(ticdc_valid_changefeed_id(""));
    assert_false(ticdc_valid_changefeed_id("shop_cdc"));
    assert_false(ticdc_valid_changefeed_id("-shop"));
    assert_false(ticdc_valid_changefeed_id("shop-"));
    assert_false(ticdc_valid_changefeed_id("shop--cdc"));
    assert_false(ticdc_valid_changefeed_id("shop cdc"));
    assert_false(ticdc_valid_changefeed_id("shop/cdc"));
    char longid[130];
    memset(longid, 'a', 129);
    longid[129] = '\0';
    assert_false(ticdc_valid_changefeed_id(longid));
    longid[128] = '\0';
    assert_true(ticdc_valid_changefeed_id(longid));
}

static void test_tso(void **state)
{
    (void)state;
    /* 2021-12-16 05:38:14.670 UTC = 1639633094670 ms; tso = ms << 18 */
    uint64_t tso = (uint64_t)1639633094670ULL << 18;
    assert_true(tso > (1ULL << 53));
    char buf[40];
    ticdc_tso_format(tso | 5, buf, sizeof buf); /* logical bits do not matter */
    assert_string_equal(buf, "2021-12-16 05:38:14.670");
    assert_true(ticdc_tso_unix(tso) > 1639633094.66 && ticdc_tso_unix(tso) < 1639633094.68);
}

static void test_parse_v2(void **state)
{
    (void)state;
    const char *body =
        "{\"upstream_id\":7178706266519722477,\"namespace\":\"default\",\"id\":\"shop-cdc\","
        "\"sink_uri\":\"kafka://kafka:29092/t?protocol=canal-json\",\"state\":\"failed\","
        "\"checkpoint_ts\":449918007904436227,\"checkpoint_time\":\"2024-05-01 10:00:00.000\","
        "\"error\":{\"addr\":\"ticdc:8300\",\"code\":\"CDC:ErrKafkaNewProducer\","
        "\"message\":\"kafka: client has run out of available brokers\"},"
        "\"config\":{\"filter\":{\"rules\":[\"shop.*\"]},\"memory_quota\":1073741824}}";
    struct ticdc_changefeed cf;
    char err[256];
    assert_int_equal(ticdc_parse_changefeed(body, &cf, err, sizeof err), 0);
    assert_string_equal(cf.id, "shop-cdc");
    assert_string_equal(cf.state, "failed");
    assert_true(cf.checkpoint_ts == 449918007904436227ULL); /* exact above 2^53 */
    assert_string_equal(cf.error_code, "CDC:ErrKafkaNewProducer");
    assert_string_equal(cf.error_msg, "kafka: client has run out of available brokers");
    assert_non_null(cf.config);
    assert_string_equal(cf.sink_uri, "kafka://kafka:29092/t?protocol=canal-json");
    ticdc_changefeed_release(&cf);
}

static void test_parse_v1_and_bad(void **state)
{
    (void)state;
    struct ticdc_changefeed cf;
    char err[256];
    const char *v1 = "{\"id\":\"shop-cdc\",\"sink_uri\":\"kafka://k:9092/t\",\"state\":\"normal\","
                     "\"checkpoint_tso\":449918007904436229,\"error\":null}";
    assert_int_equal(ticdc_parse_changefeed(v1, &cf, err, sizeof err), 0);
    assert_true(cf.checkpoint_ts == 449918007904436229ULL);
    assert_null(cf.error_code);
    assert_null(cf.config);
    ticdc_changefeed_release(&cf);
    /* uint64 beyond int64 (jansson's integer type) anywhere in the answer */
    const char *big = "{\"upstream_id\":18446744073709551615,\"id\":\"a\",\"state\":\"normal\","
                      "\"x\":[-12,1.5e3,9223372036854775807,\"9223372036854775808\\\"\"],"
                      "\"checkpoint_ts\":9223372036854775813}";
    assert_int_equal(ticdc_parse_changefeed(big, &cf, err, sizeof err), 0);
    assert_true(cf.checkpoint_ts == 9223372036854775813ULL);
    assert_string_equal(cf.state, "normal");
    ticdc_changefeed_release(&cf);
    assert_int_equal(ticdc_parse_changefeed("[1,2]", &cf, err, sizeof err), CC_EINVAL);
    assert_int_equal(ticdc_parse_changefeed("{\"id\":\"x\"}", &cf, err, sizeof err), CC_EINVAL);
    assert_int_equal(ticdc_parse_changefeed("not json", &cf, err, sizeof err), CC_EINVAL);
}

static void test_format_error(void **state)
{
    (void)state;
    char out[512];
    ticdc_format_error(500,
                       "{\"error_msg\":\"[CDC:ErrChangeFeedAlreadyExists]changefeed already "
                       "exists, shop-cdc\",\"error_code\":\"CDC:ErrChangeFeedAlreadyExists\"}",
                       out, sizeof out);
    assert_string_equal(out, "CDC:ErrChangeFeedAlreadyExists: [CDC:ErrChangeFeedAlreadyExists]"
                             "changefeed already exists, shop-cdc (HTTP 500)");
    ticdc_format_error(404, "404 page not found\n", out, sizeof out);
    assert_string_equal(out, "HTTP 404: 404 page not found");
    ticdc_format_error(502, "", out, sizeof out);
    assert_string_equal(out, "HTTP 502");
}

static void test_default_sink_uri(void **state)
{
    (void)state;
    char *u = ticdc_default_sink_uri("kafka:29092", "shop-db-data-changes", 3, 1);
    assert_string_equal(u, "kafka://kafka:29092/shop-db-data-changes?protocol=canal-json&"
                           "kafka-version=2.4.0&partition-num=3&replication-factor=1&"
                           "max-message-bytes=1048576&enable-tidb-extension=true");
    free(u);
}

static void test_mask(void **state)
{
    (void)state;
    char *m = ticdc_mask_sink_uri("kafka://user:s3cr3t@k1:9092,k2:9092/t?protocol=canal-json&"
                                  "sasl-password=hunter2&partition-num=3");
    assert_string_equal(m, "kafka://user:xxxxx@k1:9092,k2:9092/t?protocol=canal-json&"
                           "sasl-password=xxxxx&partition-num=3");
    assert_null(strstr(m, "s3cr3t"));
    free(m);
    m = ticdc_mask_sink_uri("mysql://root@db:4000/");
    assert_string_equal(m, "mysql://root@db:4000/");
    free(m);
}

static void test_scrub_sink_secrets(void **state)
{
    (void)state;
    char msg[512];
    const char *uri = "kafka://bob:p%40ss@k:9092/t?protocol=canal-json&sasl-password=hunter2&"
                      "partition-num=3";
    snprintf(msg, sizeof msg, "[CDC:ErrSinkURIInvalid]sink uri invalid '%s': p@ss and hunter2", uri);
    ticdc_scrub_sink_secrets(msg, uri);
    assert_null(strstr(msg, "hunter2"));
    assert_null(strstr(msg, "p%40ss"));
    assert_null(strstr(msg, "p@ss"));
    assert_non_null(strstr(msg, "kafka://bob:xxxxx@k:9092/t?protocol=canal-json&sasl-password=xxxxx&"
                                "partition-num=3"));
    snprintf(msg, sizeof msg, "nothing secret here");
    ticdc_scrub_sink_secrets(msg, "kafka://k:9092/t?protocol=canal-json");
    assert_string_equal(msg, "nothing secret here");
    ticdc_scrub_sink_secrets(msg, NULL);
    assert_string_equal(msg, "nothing secret here");
}

static void test_sink_diff(void **state)
{
    (void)state;
    struct strbuf d = {0};
    const char *want = "kafka://kafka:29092/shop?protocol=canal-json&partition-num=3&"
                       "replication-factor=1";
    /* same meaning: parameter order, trailing slash handling, percent-encoding */
    assert_int_equal(ticdc_sink_uri_diff(want,
                                         "kafka://kafka:29092/shop?replication-factor=1&"
                                         "partition-num=3&protocol=canal%2Djson",
                                         &d),
                     0);
    assert_int_equal(d.len, 0);
    /* host list order does not matter */
    assert_int_equal(ticdc_sink_uri_diff("kafka://a:1,b:2/t?x=1", "kafka://b:2,a:1/t?x=1", NULL), 0);
    /* TiCDC masks secrets in what it shows: a masked value matches */
    assert_int_equal(ticdc_sink_uri_diff("kafka://u:pw@a:1/t?sasl-password=pw",
                                         "kafka://u:xxxxx@a:1/t?sasl-password=xxxxx", NULL),
                     0);
    /* drift is described */
    assert_int_equal(ticdc_sink_uri_diff(want,
                                         "kafka://kafka:29092/old?protocol=canal-json&"
                                         "partition-num=1&max-message-bytes=10",
                                         &d),
                     1);
    assert_non_null(strstr(d.buf, "topic old -> shop"));
    assert_non_null(strstr(d.buf, "partition-num 1 -> 3"));
    assert_non_null(strstr(d.buf, "replication-factor (unset) -> 1"));
    assert_non_null(strstr(d.buf, "max-message-bytes 10 -> (unset)"));
    strbuf_reset(&d);
    /* a changed secret is reported without its value */
    assert_int_equal(ticdc_sink_uri_diff("kafka://a:1/t?sasl-password=new",
                                         "kafka://a:1/t?sasl-password=old", &d),
                     1);
    assert_string_equal(d.buf, "sasl-password changed");
    strbuf_release(&d);
}

static void test_desired_config(void **state)
{
    (void)state;
    char *rules_items[] = {"shop.*", "!shop.tmp"};
    struct strlist rules = {rules_items, 2};
    char err[256];
    const char *extra = "{\"case_sensitive\":false,\"filter\":{\"ignore_txn_start_ts\":[1]}}";
    json_t *cfg = ticdc_desired_config(&rules, extra, strlen(extra), err, sizeof err);
    assert_non_null(cfg);
    char *s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"case_sensitive\":false,\"filter\":{\"ignore_txn_start_ts\":[1],"
                           "\"rules\":[\"shop.*\",\"!shop.tmp\"]}}");
    free(s);
    json_decref(cfg);
    assert_null(ticdc_desired_config(&rules, "{bad", 4, err, sizeof err));
    assert_non_null(strstr(err, "line 1"));
    assert_null(ticdc_desired_config(&rules, "[1]", 3, err, sizeof err));
    cfg = ticdc_desired_config(&rules, NULL, 0, err, sizeof err);
    s = json_dumps(cfg, JSON_COMPACT);
    assert_string_equal(s, "{\"filter\":{\"rules\":[\"shop.*\",\"!shop.tmp\"]}}");
    free(s);
    json_decref(cfg);
}

static void test_config_diff_merge(void **state)
{
    (void)state;
    json_t *have = json_loads("{\"memory_quota\":1073741824,\"case_sensitive\":false,"
                              "\"filter\":{\"rules\":[\"*.*\"],\"event_filters\":null},"
                              "\"mounter\":{\"worker_num\":16}}",
                              0, NULL);
    json_t *want = json_loads("{\"case_sensitive\":false,\"filter\":{\"rules\":[\"shop.*\"]}}", 0,
                              NULL);
    struct strbuf d = {0};
    assert_int_equal(ticdc_config_diff(want, have, &d), 1);
    assert_string_equal(d.buf, "filter.rules [\"*.*\"] -> [\"shop.*\"]");
    json_t *merged = ticdc_merge_config(have, want);
    /* everything the server had is kept, the manifest's leaves win */
    char *s = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"case_sensitive\":false,\"filter\":{\"event_filters\":null,"
                           "\"rules\":[\"shop.*\"]},\"memory_quota\":1073741824,"
                           "\"mounter\":{\"worker_num\":16}}");
    free(s);
    strbuf_reset(&d);
    assert_int_equal(ticdc_config_diff(want, merged, &d), 0);
    /* missing keys and number forms */
    json_t *w2 = json_loads("{\"mounter\":{\"worker_num\":16.0},\"bdr_mode\":true}", 0, NULL);
    strbuf_reset(&d);
    assert_int_equal(ticdc_config_diff(w2, have, &d), 1);
    assert_string_equal(d.buf, "bdr_mode (unset) -> true");
    json_decref(w2);
    json_decref(merged);
    json_decref(have);
    json_decref(want);
    strbuf_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changefeed_id),    cmocka_unit_test(test_tso),
        cmocka_unit_test(test_parse_v2),         cmocka_unit_test(test_parse_v1_and_bad),
        cmocka_unit_test(test_format_error),     cmocka_unit_test(test_default_sink_uri),
        cmocka_unit_test(test_mask),             cmocka_unit_test(test_sink_diff),
        cmocka_unit_test(test_scrub_sink_secrets),
        cmocka_unit_test(test_desired_config),   cmocka_unit_test(test_config_diff_merge),
    };
    return cmocka_run_group_tests_name("ticdc", tests, NULL, NULL);
}
