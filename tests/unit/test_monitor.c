/* Unit tests for monitor.c: parsing Prometheus /api/v1/targets and Grafana
 * /api/health bodies, and the rows monitor_status adds (no network: the resolver
 * fails, so rows say why the service is unreachable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "monitor.h"
#include "util.h"

#define TARGET(job, inst, health, error)                                                    \
    "{\"discoveredLabels\":{},\"labels\":{\"instance\":\"" inst "\",\"job\":\"" job "\"},"  \
    "\"scrapePool\":\"" job "\",\"scrapeUrl\":\"http://" inst "/metrics\",\"globalUrl\":" \
    "\"http://" inst "/metrics\",\"lastError\":\"" error "\",\"lastScrape\":"              \
    "\"2025-01-31T12:00:00Z\",\"lastScrapeDuration\":0.001,\"health\":\"" health "\"}"

static int parse_targets(const char *body, struct monitor_summary *s, char *err)
{
    return monitor_parse_prometheus_targets(body, strlen(body), s, err, ERRLEN);
}

static void test_targets_all_up(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"success\",\"data\":{\"activeTargets\":["
        TARGET("cdc-consumer", "consumer:8000", "up", "") ","
        TARGET("tidb", "tidb:10080", "up", "") "],\"droppedTargets\":[]}}";
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets(body, &s, err), CC_OK);
    assert_string_equal(s.detail, "2/2 targets up");
    assert_int_equal(s.ok, 1);
    assert_int_equal(s.starting, 0);
    assert_int_equal(json_integer_value(json_object_get(s.extra, "targets_up")), 2);
    assert_int_equal(json_integer_value(json_object_get(s.extra, "targets_total")), 2);
    assert_int_equal(json_array_size(json_object_get(s.extra, "down")), 0);
    monitor_summary_release(&s);
}

static void test_targets_some_down(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"success\",\"data\":{\"activeTargets\":["
        TARGET("cdc-consumer", "consumer:8000", "up", "") ","
        TARGET("tikv", "tikv:20180", "down",
               "Get \\\"http://tikv:20180/metrics\\\": dial tcp: connection refused") ","
        TARGET("ticdc", "ticdc:8300", "unknown", "") "]}}";
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets(body, &s, err), CC_OK);
    assert_string_equal(s.detail,
                        "1/3 targets up; down: tikv(tikv:20180) Get \"http://tikv:20180/metrics\": "
                        "dial tcp: connection refused, ticdc(ticdc:8300) not scraped yet");
    assert_int_equal(s.ok, 0);
    assert_int_equal(s.starting, 0);
    json_t *down = json_object_get(s.extra, "down");
    assert_int_equal(json_array_size(down), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(down, 0), "job")), "tikv");
    assert_string_equal(json_string_value(json_object_get(json_array_get(down, 1), "health")),
                        "unknown");
    monitor_summary_release(&s);
}

static void test_targets_waiting_is_starting(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"success\",\"data\":{\"activeTargets\":["
        TARGET("pd", "pd:2379", "unknown", "") "]}}";
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets(body, &s, err), CC_OK);
    assert_string_equal(s.detail, "0/1 targets up; waiting: pd(pd:2379) not scraped yet");
    assert_int_equal(s.ok, 0);
    assert_int_equal(s.starting, 1);
    monitor_summary_release(&s);
}

static void test_targets_none(void **state)
{
    (void)state;
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets("{\"status\":\"success\",\"data\":{\"activeTargets\":[]}}", &s,
                                   err),
                     CC_OK);
    assert_string_equal(s.detail, "0/0 targets up; no scrape targets configured");
    assert_int_equal(s.ok, 0);
    monitor_summary_release(&s);
}

static void test_targets_long_error_is_cut_to_one_line(void **state)
{
    (void)state;
    char body[4096], error[400];
    memset(error, 'x', sizeof error - 1);
    error[sizeof error - 1] = '\0';
    error[10] = '\\'; /* a JSON "\n" inside the error text */
    error[11] = 'n';
    snprintf(body, sizeof body,
             "{\"status\":\"success\",\"data\":{\"activeTargets\":[{\"labels\":{\"job\":\"j\","
             "\"instance\":\"i:1\"},\"health\":\"down\",\"lastError\":\"%s\"}]}}",
             error);
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets(body, &s, err), CC_OK);
    assert_null(strchr(s.detail, '\n'));
    assert_true(strlen(s.detail) < 220);
    assert_non_null(strstr(s.detail, "..."));
    monitor_summary_release(&s);
}

static void test_targets_bad_bodies(void **state)
{
    (void)state;
    struct monitor_summary s;
    char err[ERRLEN] = "";
    assert_int_equal(parse_targets("not json", &s, err), CC_EINVAL);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_null(s.detail);
    assert_int_equal(parse_targets("{\"status\":\"error\",\"error\":\"boom\"}", &s, err), CC_EINVAL);
    assert_string_equal(err, "prometheus targets: status error: boom");
    assert_int_equal(parse_targets("{\"status\":\"success\",\"data\":{}}", &s, err), CC_EINVAL);
    assert_string_equal(err, "prometheus targets: no data.activeTargets array");
    monitor_summary_release(&s);
}

static void test_grafana_health(void **state)
{
    (void)state;
    struct monitor_summary s;
    char err[ERRLEN] = "";
    const char *ok = "{\"commit\":\"abc\",\"database\":\"ok\",\"version\":\"11.2.0\"}";
    assert_int_equal(monitor_parse_grafana_health(ok, strlen(ok), &s, err, sizeof err), CC_OK);
    assert_string_equal(s.detail, "database ok, version 11.2.0");
    assert_int_equal(s.ok, 1);
    assert_string_equal(json_string_value(json_object_get(s.extra, "version")), "11.2.0");
    monitor_summary_release(&s);

    const char *failing = "{\"commit\":\"abc\",\"database\":\"failing\",\"version\":\"10.4.1\"}";
    assert_int_equal(monitor_parse_grafana_health(failing, strlen(failing), &s, err, sizeof err),
                     CC_OK);
    assert_string_equal(s.detail, "database failing, version 10.4.1");
    assert_int_equal(s.ok, 0);
    monitor_summary_release(&s);

    assert_int_equal(monitor_parse_grafana_health("{}", 2, &s, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "grafana health: no \"database\" field");
    assert_int_equal(monitor_parse_grafana_health("<html>", 6, &s, err, sizeof err), CC_EINVAL);
    monitor_summary_release(&s);
    monitor_summary_release(NULL);
}

static int failing_resolve(void *ctx, const struct service *svc, int port, char *out,
                           size_t outlen, char *err, size_t errlen)
{
    (void)ctx;
    (void)out;
    (void)outlen;
    return cc_errf(err, errlen, CC_ENOTFOUND, "service '%s' port %d is not published", svc->name,
                   port);
}

static void test_status_rows_when_unreachable(void **state)
{
    (void)state;
    struct service svcs[3];
    memset(svcs, 0, sizeof svcs);
    svcs[0].name = "kafka";
    svcs[1].name = "prometheus";
    svcs[2].name = "grafana";
    struct manifest m;
    memset(&m, 0, sizeof m);
    m.path = "test.yaml";
    m.services = svcs;
    m.nservices = 3;
    if (manifest_service(&m, "prometheus") != &svcs[1])
        skip(); /* manifest.c is still the placeholder: nothing to look services up with */
    struct endpoint_resolver r = {failing_resolve, NULL};
    struct status_table t = {0};
    monitor_status(&m, &r, &t);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.rows[0].kind, "prometheus");
    assert_string_equal(t.rows[0].state, "unreachable");
    assert_string_equal(t.rows[0].detail, "service 'prometheus' port 9090 is not published");
    assert_int_equal(t.rows[0].ok, 0);
    assert_string_equal(t.rows[1].kind, "grafana");
    assert_string_equal(t.rows[1].detail, "service 'grafana' port 3000 is not published");
    status_release(&t);

    /* Without those services, no rows. */
    m.nservices = 1;
    monitor_status(&m, &r, &t);
    assert_int_equal(t.n, 0);
    status_release(&t);
}

/* The monitoring files are compiled into the binary (the built-in manifest uploads
 * them; the consumer installs the index template from its embedded copy), identical to
 * the repository's when the test runs from the repository root. */
static void test_monitoring_files_embedded(void **state)
{
    (void)state;
    static const char *const files[] = {
        "monitoring/prometheus.yml",
        "monitoring/rules/cdc.yml",
        "monitoring/grafana/provisioning/datasources/datasources.yaml",
        "monitoring/grafana/provisioning/dashboards/dashboards.yaml",
        "monitoring/grafana/dashboards/shop-cdc.json",
        "monitoring/elasticsearch/cdc-events-template.json",
        "monitoring/filebeat/filebeat.yml",
        "manifests/shop-filebeat.yaml",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        const struct embedded_file *f = embedded_find(files[i]);
        if (!f)
            fail_msg("%s is not embedded", files[i]);
        assert_true(f->len > 0);
        char *disk = NULL, err[ERRLEN];
        size_t len = 0;
        if (read_file(files[i], &disk, &len, err, sizeof err) == CC_OK) {
            if (len != f->len || memcmp(disk, f->data, len) != 0)
                fail_msg("embedded %s differs from the file (rebuild)", files[i]);
        }
        free(disk);
        if (strstr(files[i], ".json")) {
            json_error_t jerr;
            json_t *doc = json_loadb((const char *)f->data, f->len, 0, &jerr);
            if (!doc)
                fail_msg("%s: line %d: %s", files[i], jerr.line, jerr.text);
            json_decref(doc);
        }
    }
    json_t *t = json_loads(
        (const char *)embedded_find("monitoring/elasticsearch/cdc-events-template.json")->data, 0,
        NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "index_patterns"), 0)),
                        "cdc-events-*");
    assert_true(json_integer_value(json_object_get(t, "priority")) > 150);
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets_all_up),
        cmocka_unit_test(test_targets_some_down),
        cmocka_unit_test(test_targets_waiting_is_starting),
        cmocka_unit_test(test_targets_none),
        cmocka_unit_test(test_targets_long_error_is_cut_to_one_line),
        cmocka_unit_test(test_targets_bad_bodies),
        cmocka_unit_test(test_grafana_health),
        cmocka_unit_test(test_status_rows_when_unreachable),
        cmocka_unit_test(test_monitoring_files_embedded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
