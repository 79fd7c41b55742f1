/* essink: Elasticsearch _bulk sink (see essink.h). libcurl for HTTP, jansson for the
 * answers (cold path: one parse per bulk request). */
#include "essink.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdcevent.h"
#include "embedded.h"
#include "util.h"

#define TEMPLATE_FILE "monitoring/elasticsearch/cdc-events-template.json"
#define MAX_BODY_BYTES (8u << 20) /* flush early when the queued NDJSON gets this big */

/* Used when the monitoring engineer's template file is not embedded. */
static const char fallback_template[] =
    "{\"index_patterns\":[\"cdc-events-*\"],\"priority\":200,"
    "\"template\":{\"settings\":{\"number_of_shards\":1,\"number_of_replicas\":0},"
    "\"mappings\":{\"dynamic_templates\":[{\"strings_as_keyword\":{\"match_mapping_type\":\"string\","
    "\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}}],"
    "\"properties\":{\"@timestamp\":{\"type\":\"date\"},\"database\":{\"type\":\"keyword\"},"
    "\"table\":{\"type\":\"keyword\"},\"op\":{\"type\":\"keyword\"},\"type\":{\"type\":\"keyword\"},"
    "\"topic\":{\"type\":\"keyword\"},\"partition\":{\"type\":\"integer\"},"
    "\"offset\":{\"type\":\"long\"},\"row\":{\"type\":\"integer\"},"
    "\"commit_ts\":{\"type\":\"keyword\"},\"sql\":{\"type\":\"text\"},"
    "\"data\":{\"type\":\"object\",\"dynamic\":true}}}}}";

/* A queued document: its action + source lines are body[off, off+len). */
struct qdoc {
    size_t off;
    size_t len;
    unsigned id_off; /* the _id text, relative to off */
    unsigned id_len;
};

struct essink {
    char *url; /* without trailing '/' */
    char *prefix;
    char *username, *password;
    size_t batch_docs;
    int batch_ms;
    long timeout_ms;
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;

    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
    int template_ok;
    char *template_body;
    int last_failed; /* the previous flush failed: the next one is a retry */
    char *ca_file;   /* CURLOPT_CAINFO, NULL = the system's */
    size_t max_request_bytes; /* learnt from a 413: bodies stay under it; 0 = no limit */

    struct strbuf body; /* NDJSON of the queue */
    struct qdoc *docs;
    size_t ndocs, capdocs;
    double oldest; /* now_monotonic() when the queue became non-empty */

    /* Cache of the daily index and date for the last day seen. */
    long long day;        /* days since the epoch, -1 = none */
    char date[32];        /* YYYY.MM.DD */
    char iso_date[32];    /* YYYY-MM-DD */

    struct metric_series *m_bulk_success, *m_bulk_retry, *m_bulk_error;
    struct metric_series *m_docs_indexed, *m_docs_failed, *m_retries;
};

static void slog(struct essink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(struct essink *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!s->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->log(s->log_ctx, msg);
}

static void madd(struct metric_series *m, double v)
{
    if (m)
        metric_add(m, v);
}

static void register_metrics(struct essink *s, struct metrics *m)
{
    static const char *const outcome[] = {"outcome"};
    if (!m)
        return;
    struct metric_family *bulk = metrics_counter(
        m, "cdc_es_bulk_requests_total",
        "Elasticsearch _bulk requests by outcome (success, retry: to be sent again, error: rejected)",
        outcome, 1);
    struct metric_family *docs = metrics_counter(
        m, "cdc_es_documents_total",
        "Documents acknowledged by Elasticsearch (indexed) or permanently rejected (failed)", outcome, 1);
    struct metric_family *retries = metrics_counter(
        m, "cdc_es_retries_total", "Elasticsearch _bulk requests that were retries of a failed one",
        NULL, 0);
    if (bulk) {
        const char *v[1];
        size_t l[1];
        v[0] = "success", l[0] = 7;
        s->m_bulk_success = metric_series_get(bulk, v, l);
        v[0] = "retry", l[0] = 5;
        s->m_bulk_retry = metric_series_get(bulk, v, l);
        v[0] = "error", l[0] = 5;
        s->m_bulk_error = metric_series_get(bulk, v, l);
    }
    if (docs) {
        const char *v[1];
        size_t l[1];
        v[0] = "indexed", l[0] = 7;
        s->m_docs_indexed = metric_series_get(docs, v, l);
        v[0] = "failed", l[0] = 6;
        s->m_docs_failed = metric_series_get(docs, v, l);
    }
    if (retries)
        s->m_retries = metric_series_get(retries, NULL, NULL);
}

/* Index names: lower case, none of \ / * ? " < > | space , # :, not starting with
 * - _ +, not . or .., at most 255 bytes (we keep room for "-YYYY.MM.DD"). */
static int valid_prefix(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 200 || p[0] == '-' || p[0] == '_' || p[0] == '+' || strcmp(p, ".") == 0 ||
        strcmp(p, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

struct http_resp {
    struct strbuf body;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_resp *r = ud;
    strbuf_add(&r->body, ptr, size * nmemb);
    return size * nmemb;
}

/* One request. *status = HTTP status, or 0 for a connection-level failure (err set). */
static void http_request(struct essink *s, const char *method, const char *path,
                         const char *ctype, const char *body, size_t len, long *status,
                         struct http_resp *resp, char *err, size_t errlen)
{
    struct strbuf url = {0};
    struct curl_slist *hdrs = NULL;
    char ct[128];
    strbuf_adds(&url, s->url);
    strbuf_adds(&url, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    hdrs = curl_slist_append(hdrs, ct);
    hdrs = curl_slist_append(hdrs, "Expect:");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");

    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.buf);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (s->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
    if (s->username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    s->curl_err[0] = '\0';
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        *status = 0;
        cc_errf(err, errlen, CC_ERR, "%s", s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    /* The options point at stack data and the URL buffer: drop them. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    strbuf_release(&url);
}

/* "type: reason" of an Elasticsearch error answer, or a prefix of the raw body. */
static void error_reason(const char *body, size_t len, char *out, size_t outlen)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *e = root ? json_object_get(root, "error") : NULL;
    if (json_is_object(e)) {
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        snprintf(out, outlen, "%s: %s", type ? type : "error", reason ? reason : "");
    } else if (json_is_string(e)) {
        snprintf(out, outlen, "%s", json_string_value(e));
    } else {
        size_t n = len < 200 ? len : 200;
        snprintf(out, outlen, "%.*s", (int)n, body ? body : "");
        for (char *p = out; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    json_decref(root);
}

static char *build_template(const char *prefix, char *err, size_t errlen)
{
    const struct embedded_file *f = embedded_find(TEMPLATE_FILE);
    const char *text = f ? (const char *)f->data : fallback_template;
    size_t len = f ? f->len : strlen(fallback_template);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    char *out = NULL;
    if (!json_is_object(root)) {
        cc_errf(err, errlen, CC_ERR, "%s: line %d: %s", f ? TEMPLATE_FILE : "built-in template",
                jerr.line, jerr.text);
        goto out;
    }
    char pattern[256];
    snprintf(pattern, sizeof pattern, "%s-*", prefix);
    json_t *pats = json_array();
    json_array_append_new(pats, json_string(pattern));
    json_object_set_new(root, "index_patterns", pats);
    out = json_dumps(root, JSON_COMPACT);
out:
    json_decref(root);
    return out;
}

int essink_install_template(struct essink *s, char *err, size_t errlen)
{
    struct http_resp resp = {0};
    char path[300], why[ERRLEN];
    long status = 0;
    int rc;
    snprintf(path, sizeof path, "/_index_template/%s", s->prefix);
    http_request(s, "PUT", path, "application/json", s->template_body, strlen(s->template_body),
                 &status, &resp, why, sizeof why);
    if (status == 0) {
        rc = cc_errf(err, errlen, CC_ERR, "elasticsearch: index template: %s", why);
    } else if (status >= 200 && status < 300) {
        s->template_ok = 1;
        rc = CC_OK;
    } else {
        error_reason(resp.body.buf, resp.body.len, why, sizeof why);
        int transient = status == 408 || status == 429 || status >= 500;
        rc = cc_errf(err, errlen, transient ? CC_ERR : CC_EINVAL,
                     "elasticsearch: index template rejected (HTTP %ld): %s", status, why);
    }
    strbuf_release(&resp.body);
    return rc;
}

int essink_new(const struct essink_config *cfg, struct essink **out, char *err, size_t errlen)
{
    struct essink *s = NULL;
    const char *prefix = cfg->index_prefix ? cfg->index_prefix : "cdc-events";
    int rc;
    *out = NULL;
    if (!cfg->url || (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0))
        return cc_errf(err, errlen, CC_EINVAL, "elasticsearch url: must start with http:// or https://");
    if (!valid_prefix(prefix))
        return cc_errf(err, errlen, CC_EINVAL,
                       "elasticsearch index prefix '%s': must be a lower-case index name "
                       "([a-z0-9._-], not starting with - _ +)",
                       prefix);
    if (cfg->ca_file && access(cfg->ca_file, R_OK) != 0)
        return cc_errf(err, errlen, CC_EINVAL, "elasticsearch CA bundle %s: %s", cfg->ca_file,
                       strerror(errno));
    s = xcalloc(1, sizeof *s);
    s->url = xstrdup(cfg->url);
    for (size_t n = strlen(s->url); n > 0 && s->url[n - 1] == '/'; n--)
        s->url[n - 1] = '\0';
    s->prefix = xstrdup(prefix);
    s->username = cfg->username ? xstrdup(cfg->username) : NULL;
    s->password = cfg->password ? xstrdup(cfg->password) : NULL;
    s->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
    s->batch_docs = cfg->batch_docs ? cfg->batch_docs : 1000;
    s->batch_ms = cfg->batch_ms > 0 ? cfg->batch_ms : 1000;
    s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    s->log = cfg->log;
    s->log_ctx = cfg->log_ctx;
    s->day = -1;
    s->curl = curl_easy_init();
    if (!s->curl) {
        rc = cc_errf(err, errlen, CC_ERR, "elasticsearch: cannot initialise libcurl");
        goto fail;
    }
    s->template_body = build_template(s->prefix, err, errlen);
    if (!s->template_body) {
        rc = CC_ERR;
        goto fail;
    }
    register_metrics(s, cfg->metrics);
    if (cfg->defer_template) {
        *out = s;
        return CC_OK;
    }
    char why[ERRLEN];
    rc = essink_install_template(s, why, sizeof why);
    if (rc == CC_EINVAL) {
        rc = cc_errf(err, errlen, CC_ERR, "%s", why);
        goto fail;
    }
    if (rc != CC_OK)
        slog(s, "%s (will retry before the first bulk request)", why);
    *out = s;
    return CC_OK;
fail:
    essink_free(s);
    return rc;
}

void essink_free(struct essink *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->url);
    free(s->prefix);
    free(s->username);
    free(s->ca_file);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->template_body);
    strbuf_release(&s->body);
    free(s->docs);
    free(s);
}

static void add_u64(struct strbuf *sb, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    strbuf_add(sb, tmp + i, sizeof tmp - (size_t)i);
}

static void add_i64(struct strbuf *sb, int64_t v)
{
    if (v < 0) {
        strbuf_add(sb, "-", 1);
        add_u64(sb, (uint64_t)0 - (uint64_t)v);
    } else {
        add_u64(sb, (uint64_t)v);
    }
}

static void add_2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* Sets the date caches for the day of ms (UTC). */
static void set_day(struct essink *s, long long day)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(s->date, sizeof s->date, "%Y.%m.%d", &tm);
    strftime(s->iso_date, sizeof s->iso_date, "%Y-%m-%d", &tm);
    s->day = day;
}

static void add_jstr(struct strbuf *sb, const char *p, size_t len)
{
    strbuf_add(sb, "\"", 1);
    if (p)
        strbuf_add(sb, p, len);
    strbuf_add(sb, "\"", 1);
}

void essink_add(struct essink *s, const struct essink_doc *d)
{
    int64_t ms = d->es_ms;
    if (ms <= 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    long long day = ms / 86400000;
    if (day != s->day)
        set_day(s, day);
    unsigned msday = (unsigned)(ms - day * 86400000LL);

    if (s->ndocs == s->capdocs) {
        s->capdocs = s->capdocs ? s->capdocs * 2 : 256;
        s->docs = xrealloc(s->docs, s->capdocs * sizeof *s->docs);
    }
    if (s->ndocs == 0)
        s->oldest = now_monotonic();
    struct strbuf *b = &s->body;
    struct qdoc *q = &s->docs[s->ndocs++];
    q->off = b->len;

    strbuf_adds(b, "{\"index\":{\"_index\":\"");
    strbuf_adds(b, s->prefix);
    strbuf_add(b, "-", 1);
    strbuf_adds(b, s->date);
    strbuf_adds(b, "\",\"_id\":\"");
    size_t id_start = b->len;
    strbuf_adds(b, d->topic);
    strbuf_add(b, "-", 1);
    add_i64(b, d->partition);
    strbuf_add(b, "-", 1);
    add_i64(b, d->offset);
    strbuf_add(b, "-", 1);
    add_u64(b, d->row);
    q->id_off = (unsigned)(id_start - q->off);
    q->id_len = (unsigned)(b->len - id_start);
    strbuf_adds(b, "\"}}\n{\"@timestamp\":\"");
    char tod[16]; /* THH:MM:SS.mmmZ */
    tod[0] = 'T';
    add_2(tod + 1, msday / 3600000);
    tod[3] = ':';
    add_2(tod + 4, msday / 60000 % 60);
    tod[6] = ':';
    add_2(tod + 7, msday / 1000 % 60);
    tod[9] = '.';
    tod[10] = (char)('0' + msday % 1000 / 100);
    add_2(tod + 11, msday % 100);
    tod[13] = 'Z';
    strbuf_adds(b, s->iso_date);
    strbuf_add(b, tod, 14);
    strbuf_adds(b, "\",\"database\":");
    add_jstr(b, d->database, d->database_len);
    strbuf_adds(b, ",\"table\":");
    add_jstr(b, d->table, d->table_len);
    strbuf_adds(b, ",\"op\":\"");
    strbuf_adds(b, d->op);
    strbuf_adds(b, "\",\"type\":");
    add_jstr(b, d->type, d->type_len);
    strbuf_adds(b, ",\"topic\":\"");
    strbuf_adds(b, d->topic);
    strbuf_adds(b, "\",\"partition\":");
    add_i64(b, d->partition);
    strbuf_adds(b, ",\"offset\":");
    add_i64(b, d->offset);
    strbuf_adds(b, ",\"row\":");
    add_u64(b, d->row);
    strbuf_adds(b, ",\"commit_ts\":");
    if (d->commit_ts) {
        strbuf_add(b, "\"", 1);
        add_u64(b, d->commit_ts);
        strbuf_add(b, "\"", 1);
    } else {
        strbuf_adds(b, "null");
    }
    strbuf_adds(b, ",\"data\":");
    if (d->data) {
        size_t start = b->len;
        strbuf_add(b, d->data, d->data_len);
        cdcevent_unbreak(b->buf + start, d->data_len); /* newlines delimit NDJSON */
    } else {
        strbuf_adds(b, "null");
    }
    if (d->sql) {
        strbuf_adds(b, ",\"sql\":");
        add_jstr(b, d->sql, d->sql_len);
    }
    strbuf_adds(b, "}\n");
    q->len = b->len - q->off;
}

size_t essink_pending(const struct essink *s)
{
    return s->ndocs;
}

long essink_due_ms(const struct essink *s)
{
    if (s->ndocs == 0)
        return -1;
    if (s->ndocs >= s->batch_docs || s->body.len >= MAX_BODY_BYTES)
        return 0;
    double left = s->oldest + s->batch_ms / 1000.0 - now_monotonic();
    return left <= 0 ? 0 : (long)(left * 1000.0) + 1;
}

/* The NDJSON bytes of the first k queued documents (they are laid out in order). */
static size_t prefix_len(const struct essink *s, size_t k)
{
    return k < s->ndocs ? s->docs[k].off : s->body.len;
}

/* How many of the queued documents the next request carries: all of them, or,
 * under a limit learnt from a 413, the longest prefix whose NDJSON fits (at least
 * one). *len = the bytes of that prefix. */
static size_t request_docs(const struct essink *s, size_t *len)
{
    size_t n = s->ndocs;
    if (s->max_request_bytes && s->body.len > s->max_request_bytes) {
        n = 1;
        while (n < s->ndocs && prefix_len(s, n + 1) <= s->max_request_bytes)
            n++;
    }
    *len = prefix_len(s, n);
    return n;
}

const char *essink_body(const struct essink *s, size_t *len)
{
    request_docs(s, len);
    return s->body.buf ? s->body.buf : "";
}

/* Keeps only the documents with keep[i] != 0, in order. */
static void compact(struct essink *s, const unsigned char *keep)
{
    size_t w = 0, n = 0;
    for (size_t i = 0; i < s->ndocs; i++) {
        if (!keep[i])
            continue;
        struct qdoc q = s->docs[i];
        if (q.off != w)
            memmove(s->body.buf + w, s->body.buf + q.off, q.len);
        q.off = w;
        w += q.len;
        s->docs[n++] = q;
    }
    s->ndocs = n;
    s->body.len = w;
    if (s->body.buf)
        s->body.buf[w] = '\0';
    if (n == 0 && s->body.cap > 2 * MAX_BODY_BYTES)
        strbuf_release(&s->body); /* give back memory after a huge batch */
}

static void clear_queue(struct essink *s)
{
    s->ndocs = 0;
    s->body.len = 0;
    if (s->body.buf)
        s->body.buf[0] = '\0';
    if (s->body.cap > 2 * MAX_BODY_BYTES)
        strbuf_release(&s->body);
}

/* Removes the first n queued documents (those the answered request carried). */
static void drop_sent(struct essink *s, size_t n)
{
    if (n >= s->ndocs) {
        clear_queue(s);
        return;
    }
    unsigned char *keep = xcalloc(s->ndocs, 1);
    memset(keep + n, 1, s->ndocs - n);
    compact(s, keep);
    free(keep);
}

/* Handles the per-item answer of a 2xx _bulk. */
static int handle_items(struct essink *s, json_t *root, size_t n, char *err, size_t errlen)
{
    json_t *items = json_object_get(root, "items");
    if (!json_is_array(items) || json_array_size(items) != n) {
        madd(s->m_bulk_retry, 1);
        return cc_errf(err, errlen, CC_ERR,
                       "elasticsearch: bulk answer has %zu items for %zu documents; resending",
                       json_is_array(items) ? json_array_size(items) : 0, n);
    }
    unsigned char *keep = xcalloc(s->ndocs ? s->ndocs : 1, 1);
    memset(keep + n, 1, s->ndocs - n); /* not in this request */
    size_t indexed = 0, failed = 0, retry = 0;
    long retry_status = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(items, i);
        const char *key;
        json_t *v, *res = NULL;
        json_object_foreach(item, key, v)
        {
            res = v;
            break;
        }
        long st = json_is_object(res) ? (long)json_integer_value(json_object_get(res, "status")) : 0;
        if (st >= 200 && st < 300) {
            indexed++;
        } else if (st == 0 || st == 408 || st == 429 || st >= 500) {
            keep[i] = 1;
            retry++;
            retry_status = st;
        } else {
            char why[400];
            json_t *e = json_object_get(res, "error");
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *reason = json_string_value(json_object_get(e, "reason"));
            if (!type && json_is_string(e))
                type = json_string_value(e);
            snprintf(why, sizeof why, "%s%s%s", type ? type : "error", reason ? ": " : "",
                     reason ? reason : "");
            const struct qdoc *q = &s->docs[i];
            slog(s, "elasticsearch: document %.*s rejected (HTTP %ld): %s; skipped", (int)q->id_len,
                 s->body.buf + q->off + q->id_off, st, why);
            failed++;
        }
    }
    madd(s->m_docs_indexed, (double)indexed);
    madd(s->m_docs_failed, (double)failed);
    compact(s, keep);
    free(keep);
    if (retry) {
        madd(s->m_bulk_retry, 1);
        return cc_errf(err, errlen, CC_ERR,
                       "elasticsearch: %zu of %zu documents to retry (item status %ld)", retry, n,
                       retry_status);
    }
    madd(failed ? s->m_bulk_error : s->m_bulk_success, 1);
    return CC_OK;
}

int essink_handle_response(struct essink *s, long status, const char *body, size_t len, char *err,
                           size_t errlen)
{
    char why[ERRLEN];
    size_t sent_len, n = request_docs(s, &sent_len);
    if (status == 0) {
        madd(s->m_bulk_retry, 1);
        return CC_ERR; /* err already says why */
    }
    if (status == 413) {
        /* Larger than the server (http.max_content_length, 100 MB by default) or a
         * proxy in front of it accepts: send half as much at once from now on. A
         * single document that is still too large can never be indexed. */
        error_reason(body, len, why, sizeof why);
        if (n > 1) {
            s->max_request_bytes = sent_len / 2;
            madd(s->m_bulk_retry, 1);
            slog(s, "elasticsearch: bulk request of %zu bytes too large (HTTP 413); sending at most "
                    "%zu bytes per request",
                 sent_len, s->max_request_bytes);
            return cc_errf(err, errlen, CC_ERR, "elasticsearch: bulk request too large (HTTP 413): %s",
                           why[0] ? why : "Request Entity Too Large");
        }
        const struct qdoc *q = &s->docs[0];
        slog(s, "elasticsearch: document %.*s rejected (HTTP 413, %zu bytes is too large); skipped",
             (int)q->id_len, s->body.buf + q->off + q->id_off, sent_len);
        madd(s->m_bulk_error, 1);
        madd(s->m_docs_failed, 1);
        drop_sent(s, 1);
        return CC_OK;
    }
    if (status == 408 || status == 429 || status >= 500 || status == 401 || status == 403 ||
        status == 404) {
        /* Overload, outage, or a configuration the user can fix (credentials, URL,
         * read-only index after a full disk): keep the documents and retry. */
        error_reason(body, len, why, sizeof why);
        madd(s->m_bulk_retry, 1);
        return cc_errf(err, errlen, CC_ERR, "elasticsearch: bulk request failed (HTTP %ld): %s",
                       status, why);
    }
    if (status < 200 || status >= 300) {
        /* The request itself was rejected (400): sending it again cannot help. */
        error_reason(body, len, why, sizeof why);
        slog(s, "elasticsearch: bulk request rejected (HTTP %ld): %s; %zu documents skipped", status,
             why, n);
        madd(s->m_bulk_error, 1);
        madd(s->m_docs_failed, (double)n);
        drop_sent(s, n);
        return CC_OK;
    }
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        madd(s->m_bulk_retry, 1);
        return cc_errf(err, errlen, CC_ERR, "elasticsearch: bulk answer is not a JSON object; resending");
    }
    int rc;
    json_t *errors = json_object_get(root, "errors");
    if (json_is_false(errors)) {
        madd(s->m_docs_indexed, (double)n);
        madd(s->m_bulk_success, 1);
        drop_sent(s, n);
        rc = CC_OK;
    } else {
        rc = handle_items(s, root, n, err, errlen);
    }
    json_decref(root);
    return rc;
}

int essink_flush(struct essink *s, char *err, size_t errlen)
{
    if (s->ndocs == 0 && s->template_ok)
        return CC_OK;
    if (s->last_failed)
        madd(s->m_retries, 1);
    s->last_failed = 1;
    if (!s->template_ok) {
        int rc = essink_install_template(s, err, errlen);
        if (rc != CC_OK)
            return CC_ERR; /* a rejected template stays an error we retry: the user can fix it */
    }
    if (s->ndocs == 0) {
        s->last_failed = 0;
        return CC_OK;
    }
    /* One request for the whole queue, or several when a 413 taught a limit. */
    while (s->ndocs > 0) {
        struct http_resp resp = {0};
        long status = 0;
        char why[ERRLEN] = "";
        size_t len;
        request_docs(s, &len);
        http_request(s, "POST", "/_bulk?filter_path=errors,items.*.status,items.*.error",
                     "application/x-ndjson", s->body.buf, len, &status, &resp, why, sizeof why);
        int rc;
        if (status == 0)
            rc = cc_errf(err, errlen, CC_ERR, "elasticsearch: %s", why);
        else
            rc = essink_handle_response(s, status, resp.body.buf, resp.body.len, err, errlen);
        if (status == 0)
            madd(s->m_bulk_retry, 1);
        strbuf_release(&resp.body);
        if (rc != CC_OK && status != 413) /* a 413 set a smaller limit: resend at once */
            return rc;
    }
    s->last_failed = 0;
    return CC_OK;
}
