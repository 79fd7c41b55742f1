/* Unit tests for metrics.c / metrics_http.c: exact exposition text for a small
 * registry, escaping, histograms, number formatting, registration rules, series
 * lookup (incl. table growth), two threads updating while a third renders, the
 * process_* metrics, and the HTTP server on 127.0.0.1 port 0 fetched with libcurl. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "util.h"

/* The registered families' part of the output (everything before process_*). */
static char *render_families(struct metrics *m)
{
    size_t len = 0;
    char *text = metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_true(len > 0 && text[len - 1] == '\n');
    char *p = strstr(text, "# HELP process_cpu_seconds_total ");
    assert_non_null(p);
    *p = '\0';
    return text;
}

static struct metric_series *get2(struct metric_family *f, const char *a, const char *b)
{
    const char *v[2] = {a, b};
    size_t l[2] = {strlen(a), strlen(b)};
    return metric_series_get(f, v, l);
}

static void test_render_golden(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *tl[] = {"table", "op"};
    struct metric_family *changes =
        metrics_counter(m, "db_changes_total", "Rows changed, by table and operation.", tl, 2);
    struct metric_family *lag = metrics_gauge(m, "cdc_consumer_lag_messages", "Lag.", NULL, 0);
    const double b[] = {0.001, 0.01, 0.1, 1};
    const char *pl[] = {"partition"};
    struct metric_family *h =
        metrics_histogram(m, "cdc_batch_seconds", "Batch time.", pl, 1, b, 4);
    struct metric_family *empty = metrics_counter(m, "cdc_empty_total", "Never used.", tl, 2);
    assert_non_null(changes);
    assert_non_null(lag);
    assert_non_null(h);
    assert_non_null(empty);

    metric_add(get2(changes, "orders", "insert"), 12);
    metric_add(get2(changes, "orders", "update"), 1);
    metric_add(get2(changes, "customers", "insert"), 3);
    metric_add(get2(changes, "orders", "insert"), 1);
    metric_set(metric_series_get(lag, NULL, NULL), 42);
    const char *p0[] = {"0"};
    size_t l0[] = {1};
    struct metric_series *hs = metric_series_get(h, p0, l0);
    metric_observe(hs, 0.0005);
    metric_observe(hs, 0.001); /* le is inclusive */
    metric_observe(hs, 0.05);
    metric_observe(hs, 5);
    metric_observe(hs, 0.25);

    char *text = render_families(m);
    const char *want =
        "# HELP db_changes_total Rows changed, by table and operation.\n"
        "# TYPE db_changes_total counter\n"
        "db_changes_total{table=\"orders\",op=\"insert\"} 13\n"
        "db_changes_total{table=\"orders\",op=\"update\"} 1\n"
        "db_changes_total{table=\"customers\",op=\"insert\"} 3\n"
        "# HELP cdc_consumer_lag_messages Lag.\n"
        "# TYPE cdc_consumer_lag_messages gauge\n"
        "cdc_consumer_lag_messages 42\n"
        "# HELP cdc_batch_seconds Batch time.\n"
        "# TYPE cdc_batch_seconds histogram\n"
        "cdc_batch_seconds_bucket{partition=\"0\",le=\"0.001\"} 2\n"
        "cdc_batch_seconds_bucket{partition=\"0\",le=\"0.01\"} 2\n"
        "cdc_batch_seconds_bucket{partition=\"0\",le=\"0.1\"} 3\n"
        "cdc_batch_seconds_bucket{partition=\"0\",le=\"1\"} 4\n"
        "cdc_batch_seconds_bucket{partition=\"0\",le=\"+Inf\"} 5\n"
        "cdc_batch_seconds_sum{partition=\"0\"} 5.3015\n"
        "cdc_batch_seconds_count{partition=\"0\"} 5\n";
    assert_string_equal(text, want);
    assert_true(metric_value(get2(changes, "orders", "insert")) == 13);
    assert_true(metric_value(hs) == 5);
    free(text);
    metrics_free(m);
}

static void test_escaping(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *l[] = {"v"};
    struct metric_family *f =
        metrics_gauge(m, "esc", "back\\slash \"quoted\"\nsecond line", l, 1);
    const char *v[] = {"a\\b \"c\"\nd"};
    metric_set(metric_series_get(f, v, NULL), -1.5);
    char *text = render_families(m);
    assert_string_equal(text, "# HELP esc back\\\\slash \"quoted\"\\nsecond line\n"
                              "# TYPE esc gauge\n"
                              "esc{v=\"a\\\\b \\\"c\\\"\\nd\"} -1.5\n");
    free(text);
    metrics_free(m);
}

static void test_number_format(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {12, "12"},
        {-3, "-3"},
        {1234567890123, "1234567890123"},
        {0.5, "0.5"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {1e-7, "1e-07"},
        {1e20, "1e+20"},
        {429918007904436226.0, "4.299180079044362e+17"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    struct metrics *m = metrics_new();
    struct metric_family *g = metrics_gauge(m, "g", "h", NULL, 0);
    struct metric_series *s = metric_series_get(g, NULL, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metric_set(s, cases[i].v);
        char *text = render_families(m);
        char want[128];
        snprintf(want, sizeof(want), "# HELP g h\n# TYPE g gauge\ng %s\n", cases[i].want);
        assert_string_equal(text, want);
        free(text);
    }
    metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const double b[] = {1, 2.5, INFINITY}; /* a trailing +Inf is the implied one */
    struct metric_family *h = metrics_histogram(m, "lat_seconds", "", NULL, 0, b, 3);
    assert_non_null(h);
    struct metric_series *s = metric_series_get(h, NULL, NULL);
    char *text = render_families(m);
    assert_string_equal(text, "# HELP lat_seconds \n# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{le=\"1\"} 0\n"
                              "lat_seconds_bucket{le=\"2.5\"} 0\n"
                              "lat_seconds_bucket{le=\"+Inf\"} 0\n"
                              "lat_seconds_sum 0\n"
                              "lat_seconds_count 0\n");
    free(text);
    metric_observe(s, 1);
    metric_observe(s, 2);
    metric_observe(s, 3);
    metric_observe(s, -1);
    metric_add(s, 5); /* not for histograms: ignored */
    text = render_families(m);
    assert_string_equal(text, "# HELP lat_seconds \n# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{le=\"1\"} 2\n"
                              "lat_seconds_bucket{le=\"2.5\"} 3\n"
                              "lat_seconds_bucket{le=\"+Inf\"} 4\n"
                              "lat_seconds_sum 5\n"
                              "lat_seconds_count 4\n");
    free(text);
    metric_observe(s, NAN); /* counted in +Inf, sum becomes NaN, as in client_golang */
    text = render_families(m);
    assert_non_null(strstr(text, "lat_seconds_bucket{le=\"+Inf\"} 5\nlat_seconds_sum NaN\n"
                                 "lat_seconds_count 5\n"));
    free(text);
    /* no buckets at all: only +Inf */
    struct metric_family *h0 = metrics_histogram(m, "h0", "x", NULL, 0, NULL, 0);
    assert_non_null(h0);
    metric_observe(metric_series_get(h0, NULL, NULL), 7);
    text = render_families(m);
    assert_non_null(strstr(text, "h0_bucket{le=\"+Inf\"} 1\nh0_sum 7\nh0_count 1\n"));
    free(text);
    metrics_free(m);
}

static void test_registration_rules(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *ok[] = {"table", "op"};
    const char *bad1[] = {"9x"};
    const char *bad2[] = {"__reserved"};
    const char *dup[] = {"a", "a"};
    const char *le[] = {"le"};
    const char *nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    const double asc[] = {1, 2};
    const double desc[] = {2, 1};
    const double nan[] = {NAN};
    assert_null(metrics_counter(m, "", "h", NULL, 0));
    assert_null(metrics_counter(m, "bad-name", "h", NULL, 0));
    assert_null(metrics_counter(m, "0abc", "h", NULL, 0));
    assert_non_null(metrics_counter(m, "ns:sub_total", "h", NULL, 0));
    assert_null(metrics_counter(m, "x_total", "h", bad1, 1));
    assert_null(metrics_counter(m, "x_total", "h", bad2, 1));
    assert_null(metrics_counter(m, "x_total", "h", dup, 2));
    assert_null(metrics_counter(m, "x_total", "h", nine, 9));
    assert_non_null(metrics_counter(m, "eight_total", "h", nine, 8));
    assert_null(metrics_histogram(m, "h1", "h", le, 1, asc, 2));
    assert_null(metrics_histogram(m, "h2", "h", NULL, 0, desc, 2));
    assert_null(metrics_histogram(m, "h3", "h", NULL, 0, nan, 1));
    assert_null(metrics_gauge(m, "process_open_fds", "h", NULL, 0));
    /* same name: same shape returns the same family, a different shape NULL */
    struct metric_family *a = metrics_counter(m, "c_total", "h", ok, 2);
    assert_non_null(a);
    assert_ptr_equal(metrics_counter(m, "c_total", "other help", ok, 2), a);
    assert_null(metrics_gauge(m, "c_total", "h", ok, 2));
    assert_null(metrics_counter(m, "c_total", "h", ok, 1));
    struct metric_family *hh = metrics_histogram(m, "hh", "h", NULL, 0, asc, 2);
    assert_ptr_equal(metrics_histogram(m, "hh", "h", NULL, 0, asc, 2), hh);
    assert_null(metrics_histogram(m, "hh", "h", NULL, 0, asc, 1));
    /* NULL family / series are no-ops */
    assert_null(metric_series_get(NULL, NULL, NULL));
    metric_add(NULL, 1);
    metric_set(NULL, 1);
    metric_observe(NULL, 1);
    assert_true(metric_value(NULL) == 0);
    /* counters never go down */
    struct metric_series *c = metric_series_get(metrics_counter(m, "up_total", "h", NULL, 0),
                                                NULL, NULL);
    metric_add(c, 2);
    metric_add(c, -1);
    metric_add(c, NAN);
    assert_true(metric_value(c) == 2);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_series_lookup(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *l[] = {"a", "b"};
    struct metric_family *f = metrics_counter(m, "s_total", "h", l, 2);
    struct metric_series *ab_c = get2(f, "ab", "c");
    struct metric_series *a_bc = get2(f, "a", "bc");
    assert_ptr_not_equal(ab_c, a_bc);
    assert_ptr_equal(get2(f, "ab", "c"), ab_c);
    /* values need not be NUL-terminated */
    const char *buf = "abXc";
    const char *v[2] = {buf, buf + 3};
    size_t lens[2] = {2, 1};
    assert_ptr_equal(metric_series_get(f, v, lens), ab_c);
    /* an empty value is a value */
    assert_ptr_not_equal(get2(f, "", "c"), get2(f, "c", ""));

    /* many series: the table grows; every one stays findable and distinct */
    enum { N = 5000 };
    struct metric_series **all = calloc(N, sizeof(*all));
    char a[32], b[32];
    for (int i = 0; i < N; i++) {
        snprintf(a, sizeof(a), "t%d", i);
        snprintf(b, sizeof(b), "%d", i % 4);
        all[i] = get2(f, a, b);
        metric_add(all[i], i);
    }
    for (int i = 0; i < N; i++) {
        snprintf(a, sizeof(a), "t%d", i);
        snprintf(b, sizeof(b), "%d", i % 4);
        assert_ptr_equal(get2(f, a, b), all[i]);
        assert_true(metric_value(all[i]) == i);
    }
    /* creation order in the output */
    char *text = render_families(m);
    char *p1 = strstr(text, "s_total{a=\"ab\",b=\"c\"} 0\n");
    char *p2 = strstr(text, "s_total{a=\"t0\",b=\"0\"} 0\n");
    char *p3 = strstr(text, "s_total{a=\"t4999\",b=\"3\"} 4999\n");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_non_null(p3);
    assert_true(p1 < p2 && p2 < p3);
    free(text);
    free(all);
    metrics_free(m);
}

/* ---- concurrency ---- */

enum { ITER = 200000, NEWSERIES = 250 }; /* ITER a multiple of NEWSERIES */

struct worker {
    struct metric_family *counter, *hist;
    int id;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct metric_series *shared = get2(w->counter, "shared", "insert");
    const char *pv[] = {"p"};
    struct metric_series *h = metric_series_get(w->hist, pv, NULL);
    char name[32];
    for (int i = 0; i < ITER; i++) {
        metric_add(shared, 1);
        metric_observe(h, (double)(i % 10));
        if (i % (ITER / NEWSERIES) == 0) {
            /* both threads create the same series at about the same time */
            snprintf(name, sizeof(name), "t%d", i / (ITER / NEWSERIES));
            metric_add(get2(w->counter, name, "update"), 1);
        }
        if (i % 1000 == 0) /* lookups by label on the hot path */
            metric_add(get2(w->counter, "shared", "insert"), 0);
    }
    return NULL;
}

static atomic_int stop_render;
static atomic_int bad_renders;

/* cmocka's asserts only work on the test's own thread: count failures instead */
static void *renderer(void *arg)
{
    struct metrics *m = arg;
    size_t renders = 0;
    while (!atomic_load(&stop_render)) {
        size_t len = 0;
        char *t = metrics_render(m, &len);
        if (!t || len == 0 || t[len - 1] != '\n' || strlen(t) != len)
            atomic_fetch_add(&bad_renders, 1);
        free(t);
        renders++;
    }
    return (void *)renders;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *l[] = {"table", "op"};
    const char *pl[] = {"p"};
    const double b[] = {0.5, 4.5};
    struct worker w[2] = {
        {metrics_counter(m, "db_changes_total", "h", l, 2),
         metrics_histogram(m, "obs", "h", pl, 1, b, 2), 0},
        {NULL, NULL, 1},
    };
    w[1].counter = w[0].counter;
    w[1].hist = w[0].hist;
    pthread_t t[3];
    atomic_store(&stop_render, 0);
    assert_int_equal(pthread_create(&t[2], NULL, renderer, m), 0);
    assert_int_equal(pthread_create(&t[0], NULL, work, &w[0]), 0);
    assert_int_equal(pthread_create(&t[1], NULL, work, &w[1]), 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    atomic_store(&stop_render, 1);
    void *renders;
    pthread_join(t[2], &renders);
    assert_int_equal(atomic_load(&bad_renders), 0);
    print_message("renders during updates: %zu\n", (size_t)renders);

    assert_true(metric_value(get2(w[0].counter, "shared", "insert")) == 2.0 * ITER);
    char *text = render_families(m);
    /* each racing series exists once, with both threads' increments */
    size_t lines = 0;
    for (char *p = text; (p = strstr(p, ",op=\"update\"} 2\n")); p++)
        lines++;
    assert_int_equal(lines, NEWSERIES);
    assert_null(strstr(text, ",op=\"update\"} 1\n"));
    /* histogram: 2 * ITER observations of 0..9 */
    char want[256];
    snprintf(want, sizeof(want),
             "obs_bucket{p=\"p\",le=\"0.5\"} %d\nobs_bucket{p=\"p\",le=\"4.5\"} %d\n"
             "obs_bucket{p=\"p\",le=\"+Inf\"} %d\nobs_sum{p=\"p\"} %d\nobs_count{p=\"p\"} %d\n",
             2 * ITER / 10, 2 * ITER / 2, 2 * ITER, 2 * (ITER / 10) * 45, 2 * ITER);
    assert_non_null(strstr(text, want));
    free(text);
    metrics_free(m);
}

static double sample(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("%s missing", name);
    return strtod(p + strlen(key), NULL);
}

static void test_process_metrics(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    size_t len;
    char *text = metrics_render(m, &len);
    assert_true(text[len - 1] == '\n');
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    assert_true(sample(text, "process_cpu_seconds_total") >= 0);
    assert_true(sample(text, "process_open_fds") >= 3);
    assert_true(sample(text, "process_max_fds") >= 64);
    assert_true(sample(text, "process_virtual_memory_bytes") > 1e6);
    assert_true(sample(text, "process_resident_memory_bytes") > 1e5);
    double start = sample(text, "process_start_time_seconds");
    double now = (double)time(NULL);
    assert_true(start > now - 3600 && start <= now + 2);
    free(text);
    metrics_free(m);
}

/* ---- HTTP server ---- */

struct fetched {
    long status;
    char ctype[128];
    char allow[64];
    struct strbuf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    strbuf_add(&((struct fetched *)ud)->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct fetched *f = ud;
    size_t len = size * n;
    if (len > 6 && strncasecmp(p, "Allow:", 6) == 0)
        snprintf(f->allow, sizeof(f->allow), "%.*s", (int)(len - 6), p + 6);
    return len;
}

static void fetch(int port, const char *method, const char *path, struct fetched *f)
{
    memset(f, 0, sizeof(*f));
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(f->ctype, sizeof(f->ctype), "%s", ct);
    curl_easy_cleanup(c);
    strbuf_add(&f->body, "", 0);
}

static void test_server(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    const char *l[] = {"table", "op"};
    struct metric_family *f = metrics_counter(m, "db_changes_total", "Rows.", l, 2);
    metric_add(get2(f, "orders", "insert"), 7);
    struct metrics_server *srv = NULL;
    int port = 0;
    char err[ERRLEN] = "";
    int rc = metrics_server_start(m, "127.0.0.1:0", &srv, &port, err, sizeof(err));
    if (rc != CC_OK)
        fail_msg("%s", err);
    assert_true(port > 0 && port < 65536);

    struct fetched r;
    fetch(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body.buf, "# TYPE db_changes_total counter\n"
                                       "db_changes_total{table=\"orders\",op=\"insert\"} 7\n"));
    assert_non_null(strstr(r.body.buf, "\nprocess_open_fds "));
    strbuf_release(&r.body);

    metric_add(get2(f, "orders", "insert"), 1); /* live values */
    fetch(port, "GET", "/metrics?x=1", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.buf, "op=\"insert\"} 8\n"));
    strbuf_release(&r.body);

    fetch(port, "HEAD", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, METRICS_CONTENT_TYPE);
    assert_int_equal(r.body.len, 0);
    strbuf_release(&r.body);

    fetch(port, "POST", "/metrics", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.allow, "GET, HEAD"));
    strbuf_release(&r.body);
    fetch(port, "DELETE", "/metrics", &r);
    assert_int_equal(r.status, 405);
    strbuf_release(&r.body);

    fetch(port, "GET", "/nope", &r);
    assert_int_equal(r.status, 404);
    strbuf_release(&r.body);
    fetch(port, "GET", "/metrics/", &r);
    assert_int_equal(r.status, 404);
    strbuf_release(&r.body);

    fetch(port, "GET", "/", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.buf, "<a href=\"/metrics\">"));
    strbuf_release(&r.body);

    /* the port is taken now */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    struct metrics_server *srv2 = NULL;
    err[0] = '\0';
    assert_int_equal(metrics_server_start(m, addr, &srv2, NULL, err, sizeof(err)), CC_ERR);
    assert_null(srv2);
    print_message("port in use: %s\n", err);
    assert_non_null(strstr(err, "in use"));

    metrics_server_stop(srv);
    metrics_server_stop(NULL);
    metrics_free(m);
}

static void test_server_addresses(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    static const char *const bad[] = {"", "9464", "127.0.0.1:", "127.0.0.1:65536", "1.2.3.4:-1",
                                      "127.0.0.1:80x", "::1:9464", "[::1", "[::1]9464",
                                      "no-such-host.invalid:0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct metrics_server *s = NULL;
        char err[ERRLEN] = "";
        assert_int_equal(metrics_server_start(m, bad[i], &s, NULL, err, sizeof(err)), CC_ERR);
        assert_null(s);
        print_message("%s -> %s\n", bad[i], err);
        assert_true(strncmp(err, "metrics", 7) == 0);
    }
    static const char *const good[] = {"localhost:0", "127.0.0.1:0", "[::1]:0"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct metrics_server *s = NULL;
        char err[ERRLEN] = "";
        int port = 0;
        int rc = metrics_server_start(m, good[i], &s, &port, err, sizeof(err));
        if (rc != CC_OK && strcmp(good[i], "[::1]:0") == 0) {
            print_message("IPv6 loopback unavailable here: %s\n", err);
            continue;
        }
        if (rc != CC_OK)
            fail_msg("%s: %s", good[i], err);
        assert_true(port > 0);
        if (strcmp(good[i], "[::1]:0") != 0) {
            struct fetched r;
            fetch(port, "GET", "/metrics", &r);
            assert_int_equal(r.status, 200);
            strbuf_release(&r.body);
        }
        metrics_server_stop(s);
    }
    metrics_free(m);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_golden),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_series_lookup),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_server_addresses),
    };
    int failed = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
