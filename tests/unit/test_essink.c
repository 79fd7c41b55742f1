/* Unit tests for essink.c without a server: the exact NDJSON of queued documents
 * (index name and @timestamp from es, _id, escaping), batching, and the handling
 * of _bulk answers (success, per-item permanent and transient errors, whole-request
 * 429/5xx/400, 413 splitting, malformed answers), with the cdc_es_* metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "essink.h"
#include "metrics.h"
#include "util.h"

struct fixture {
    struct metrics *m;
    struct essink *s;
    struct strbuf log;
};

static void on_log(void *ctx, const char *msg)
{
    struct strbuf *sb = ctx;
    strbuf_adds(sb, msg);
    strbuf_add(sb, "\n", 1);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[ERRLEN];
    f->m = metrics_new();
    struct essink_config cfg = {.url = "http://127.0.0.1:1/", .index_prefix = "cdc-events", .batch_docs = 3,
                                .batch_ms = 60000, .metrics = f->m, .defer_template = 1,
                                .log = on_log, .log_ctx = &f->log};
    assert_int_equal(essink_new(&cfg, &f->s, err, sizeof err), CC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    essink_free(f->s);
    metrics_free(f->m);
    strbuf_release(&f->log);
    free(f);
    return 0;
}

static void add(struct essink *s, int64_t offset, size_t row, const char *data)
{
    struct essink_doc d = {
        .topic = "cdc", .partition = 2, .offset = offset, .row = row, .es_ms = 1640007049196LL,
        .commit_ts = 429918007904436226ULL, .database = "shop", .database_len = 4, .table = "orders",
        .table_len = 6, .op = "insert", .type = "INSERT", .type_len = 6, .data = data,
        .data_len = data ? strlen(data) : 0,
    };
    essink_add(s, &d);
}

static double series(struct metrics *m, const char *family, const char *outcome)
{
    size_t len;
    char *text = metrics_render(m, &len);
    char key[128];
    snprintf(key, sizeof key, "%s{outcome=\"%s\"} ", family, outcome);
    char *p = strstr(text, key);
    double v = p ? strtod(p + strlen(key), NULL) : -1;
    free(text);
    return v;
}

static void test_ndjson(void **state)
{
    struct fixture *f = *state;
    add(f->s, 7, 0, "{\"id\":\"1\",\"v\":\"a\\\"b\"}");
    struct essink_doc ddl = {
        .topic = "cdc", .partition = 0, .offset = 8, .row = 0, .es_ms = 1640995199999LL, .commit_ts = 0,
        .database = "shop", .database_len = 4, .table = "", .table_len = 0, .op = "ddl", .type = "QUERY",
        .type_len = 5, .data = NULL, .sql = "drop database \\\"x\\\"", .sql_len = 19,
    };
    essink_add(f->s, &ddl);
    size_t len;
    const char *body = essink_body(f->s, &len);
    const char *want =
        "{\"index\":{\"_index\":\"cdc-events-2021.12.20\",\"_id\":\"cdc-2-7-0\"}}\n"
        "{\"@timestamp\":\"2021-12-20T13:30:49.196Z\",\"database\":\"shop\",\"table\":\"orders\",\"op\":\"insert\","
        "\"type\":\"INSERT\",\"topic\":\"cdc\",\"partition\":2,\"offset\":7,\"row\":0,"
        "\"commit_ts\":\"429918007904436226\",\"data\":{\"id\":\"1\",\"v\":\"a\\\"b\"}}\n"
        "{\"index\":{\"_index\":\"cdc-events-2021.12.31\",\"_id\":\"cdc-0-8-0\"}}\n"
        "{\"@timestamp\":\"2021-12-31T23:59:59.999Z\",\"database\":\"shop\",\"table\":\"\",\"op\":\"ddl\","
        "\"type\":\"QUERY\",\"topic\":\"cdc\",\"partition\":0,\"offset\":8,\"row\":0,\"commit_ts\":null,"
        "\"data\":null,\"sql\":\"drop database \\\"x\\\"\"}\n";
    assert_int_equal(len, strlen(want));
    assert_memory_equal(body, want, len);
    assert_int_equal(essink_pending(f->s), 2);
}

static void test_newlines_in_row(void **state)
{
    struct fixture *f = *state;
    add(f->s, 1, 0, "{\n\"id\": \"1\"\r\n}");
    size_t len;
    const char *body = essink_body(f->s, &len);
    /* exactly two lines: action and source */
    size_t nl = 0;
    for (size_t i = 0; i < len; i++)
        nl += body[i] == '\n';
    assert_int_equal(nl, 2);
    assert_non_null(strstr(body, "\"data\":{ \"id\": \"1\"  }}"));
}

static void test_batching(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(essink_due_ms(f->s), -1);
    add(f->s, 1, 0, "{}");
    long due = essink_due_ms(f->s);
    assert_true(due > 59000 && due <= 60001);
    add(f->s, 1, 1, "{}");
    add(f->s, 2, 0, "{}");
    assert_int_equal(essink_due_ms(f->s), 0); /* batch_docs = 3 */
}

static void test_all_indexed(void **state)
{
    struct fixture *f = *state;
    char err[ERRLEN];
    add(f->s, 1, 0, "{}");
    add(f->s, 2, 0, "{}");
    const char *resp = "{\"took\":3,\"errors\":false,\"items\":[{\"index\":{\"status\":201}},{\"index\":{\"status\":200}}]}";
    assert_int_equal(essink_handle_response(f->s, 200, resp, strlen(resp), err, sizeof err), CC_OK);
    assert_int_equal(essink_pending(f->s), 0);
    assert_true(series(f->m, "cdc_es_documents_total", "indexed") == 2);
    assert_true(series(f->m, "cdc_es_bulk_requests_total", "success") == 1);
}

static void test_item_errors(void **state)
{
    struct fixture *f = *state;
    char err[ERRLEN];
    add(f->s, 1, 0, "{\"a\":\"1\"}");
    add(f->s, 2, 0, "{\"a\":\"2\"}");
    add(f->s, 3, 0, "{\"a\":\"3\"}");
    const char *resp =
        "{\"errors\":true,\"items\":["
        "{\"index\":{\"status\":201}},"
        "{\"index\":{\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\",\"reason\":\"bad a\"}}},"
        "{\"index\":{\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"busy\"}}}]}";
    assert_int_equal(essink_handle_response(f->s, 200, resp, strlen(resp), err, sizeof err), CC_ERR);
    assert_non_null(strstr(err, "1 of 3 documents to retry"));
    /* only the 429 document is left, and only it will be sent again */
    assert_int_equal(essink_pending(f->s), 1);
    size_t len;
    const char *body = essink_body(f->s, &len);
    assert_non_null(strstr(body, "\"_id\":\"cdc-2-3-0\""));
    assert_null(strstr(body, "cdc-2-1-0"));
    assert_null(strstr(body, "cdc-2-2-0"));
    assert_non_null(strstr(f->log.buf, "document cdc-2-2-0 rejected (HTTP 400): mapper_parsing_exception: bad a"));
    assert_true(series(f->m, "cdc_es_documents_total", "failed") == 1);
    assert_true(series(f->m, "cdc_es_documents_total", "indexed") == 1);
    assert_true(series(f->m, "cdc_es_bulk_requests_total", "retry") == 1);

    const char *ok = "{\"errors\":false,\"items\":[{\"index\":{\"status\":200}}]}";
    assert_int_equal(essink_handle_response(f->s, 200, ok, strlen(ok), err, sizeof err), CC_OK);
    assert_int_equal(essink_pending(f->s), 0);
    assert_true(series(f->m, "cdc_es_documents_total", "indexed") == 2);
}

static void test_whole_request_failures(void **state)
{
    struct fixture *f = *state;
    char err[ERRLEN];
    add(f->s, 1, 0, "{}");
    add(f->s, 2, 0, "{}");
    size_t before;
    essink_body(f->s, &before);
    const char *r429 = "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected\"},\"status\":429}";
    assert_int_equal(essink_handle_response(f->s, 429, r429, strlen(r429), err, sizeof err), CC_ERR);
    assert_non_null(strstr(err, "HTTP 429"));
    assert_non_null(strstr(err, "es_rejected_execution_exception: rejected"));
    assert_int_equal(essink_handle_response(f->s, 503, "", 0, err, sizeof err), CC_ERR);
    assert_int_equal(essink_handle_response(f->s, 0, NULL, 0, err, sizeof err), CC_ERR);
    /* a 200 that is not the bulk answer, or has the wrong item count: resend all */
    assert_int_equal(essink_handle_response(f->s, 200, "<html>", 6, err, sizeof err), CC_ERR);
    const char *short_items = "{\"errors\":true,\"items\":[{\"index\":{\"status\":201}}]}";
    assert_int_equal(essink_handle_response(f->s, 200, short_items, strlen(short_items), err, sizeof err), CC_ERR);
    size_t after;
    essink_body(f->s, &after);
    assert_int_equal(essink_pending(f->s), 2);
    assert_int_equal(before, after);
    assert_true(series(f->m, "cdc_es_bulk_requests_total", "retry") == 5);

    /* 400 for the whole request: cannot succeed by resending; dropped and counted */
    const char *r400 = "{\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"Malformed action\"},\"status\":400}";
    assert_int_equal(essink_handle_response(f->s, 400, r400, strlen(r400), err, sizeof err), CC_OK);
    assert_int_equal(essink_pending(f->s), 0);
    assert_true(series(f->m, "cdc_es_documents_total", "failed") == 2);
    assert_true(series(f->m, "cdc_es_bulk_requests_total", "error") == 1);
    assert_non_null(strstr(f->log.buf, "bulk request rejected (HTTP 400)"));
}

/* The _bulk answer "all indexed" for n documents. */
static const char *ok_items(size_t n)
{
    static char buf[4096];
    size_t w = (size_t)snprintf(buf, sizeof buf, "{\"errors\":false,\"items\":[");
    for (size_t i = 0; i < n; i++)
        w += (size_t)snprintf(buf + w, sizeof buf - w, "%s{\"index\":{\"status\":201}}", i ? "," : "");
    snprintf(buf + w, sizeof buf - w, "]}");
    return buf;
}

/* Action and source lines in the body: two per document. */
static size_t docs_in(const char *body, size_t len)
{
    size_t nl = 0;
    for (size_t i = 0; i < len; i++)
        nl += body[i] == '\n';
    return nl / 2;
}

/* 413: the same documents are sent again in smaller requests (each a whole number
 * of documents, at most half the bytes), until every one is acknowledged; a
 * document alone answered 413 is rejected and counted. */
static void test_too_large_splits(void **state)
{
    struct fixture *f = *state;
    char err[ERRLEN];
    for (int i = 0; i < 5; i++)
        add(f->s, 10 + i, 0, "{\"id\":\"1\",\"note\":\"0123456789\"}");
    size_t full, len;
    const char *body = essink_body(f->s, &full);
    assert_int_equal(docs_in(body, full), 5);
    const char *nginx = "<html><head><title>413 Request Entity Too Large</title></head></html>";
    assert_int_equal(essink_handle_response(f->s, 413, nginx, strlen(nginx), err, sizeof err), CC_ERR);
    assert_non_null(strstr(err, "HTTP 413"));
    assert_int_equal(essink_pending(f->s), 5); /* nothing lost */
    body = essink_body(f->s, &len);
    assert_true(len <= full / 2);
    assert_int_equal(docs_in(body, len), 2);
    assert_int_equal(body[len - 1], '\n');
    assert_non_null(strstr(f->log.buf, "too large (HTTP 413); sending at most"));
    /* the first two are acknowledged; the rest go two by two, then one */
    assert_int_equal(essink_handle_response(f->s, 200, ok_items(2), strlen(ok_items(2)), err, sizeof err), CC_OK);
    assert_int_equal(essink_pending(f->s), 3);
    body = essink_body(f->s, &len);
    assert_int_equal(docs_in(body, len), 2);
    assert_non_null(strstr(body, "\"_id\":\"cdc-2-12-0\""));
    assert_int_equal(essink_handle_response(f->s, 200, ok_items(2), strlen(ok_items(2)), err, sizeof err), CC_OK);
    body = essink_body(f->s, &len);
    assert_int_equal(docs_in(body, len), 1);
    assert_non_null(strstr(body, "\"_id\":\"cdc-2-14-0\""));
    /* still too large alone: rejected, counted, skipped */
    assert_int_equal(essink_handle_response(f->s, 413, "", 0, err, sizeof err), CC_OK);
    assert_int_equal(essink_pending(f->s), 0);
    assert_true(series(f->m, "cdc_es_documents_total", "indexed") == 4);
    assert_true(series(f->m, "cdc_es_documents_total", "failed") == 1);
    assert_non_null(strstr(f->log.buf, "document cdc-2-14-0 rejected (HTTP 413"));
}

static void test_bad_config(void **state)
{
    (void)state;
    struct essink *s = NULL;
    char err[ERRLEN];
    struct essink_config c1 = {.url = "127.0.0.1:9200", .defer_template = 1};
    assert_int_equal(essink_new(&c1, &s, err, sizeof err), CC_EINVAL);
    assert_null(s);
    struct essink_config c2 = {.url = "http://x:9200", .index_prefix = "CDC", .defer_template = 1};
    assert_int_equal(essink_new(&c2, &s, err, sizeof err), CC_EINVAL);
    assert_non_null(strstr(err, "index prefix 'CDC'"));
    struct essink_config c3 = {.url = "http://x:9200", .index_prefix = "_x", .defer_template = 1};
    assert_int_equal(essink_new(&c3, &s, err, sizeof err), CC_EINVAL);
    struct essink_config c4 = {.url = "https://x:9200", .ca_file = "/nonexistent/ca.pem", .defer_template = 1};
    assert_int_equal(essink_new(&c4, &s, err, sizeof err), CC_EINVAL);
    assert_non_null(strstr(err, "/nonexistent/ca.pem: No such file or directory"));
    assert_null(s);
    essink_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ndjson, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newlines_in_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_indexed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_request_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_splits, setup, teardown),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests_name("essink", tests, NULL, NULL);
}
