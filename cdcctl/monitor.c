/* monitor: `cdcctl status` rows for Prometheus (target health from /api/v1/targets)
 * and Grafana (/api/health). See monitor.h. */
#include "monitor.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PROMETHEUS_PORT 9090
#define GRAFANA_PORT 3000
#define HTTP_CONNECT_TIMEOUT_MS 2000L
#define HTTP_TIMEOUT_MS 5000L
#define HTTP_MAX_BODY (16u << 20) /* a targets list of a large setup fits easily */
#define ERROR_TEXT_MAX 160        /* characters of a target's last error shown in detail */

void monitor_summary_release(struct monitor_summary *s)
{
    if (!s)
        return;
    free(s->detail);
    json_decref(s->extra);
    s->detail = NULL;
    s->extra = NULL;
}

/* ---- parsing ------------------------------------------------------------------ */

static const char *obj_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Appends "job(instance) why" for one target that is not up. */
static void add_down_target(struct strbuf *sb, int first, const char *job, const char *instance,
                            const char *health, const char *error)
{
    if (!first)
        strbuf_adds(sb, ", ");
    strbuf_addf(sb, "%s(%s) ", job, instance);
    if (!strcmp(health, "unknown") && !*error) {
        strbuf_adds(sb, "not scraped yet");
        return;
    }
    if (!*error) {
        strbuf_addf(sb, "health %s", health);
        return;
    }
    /* One line, bounded: errors from Go's HTTP client can be long. */
    size_t n = 0;
    for (const char *p = error; *p && n < ERROR_TEXT_MAX; p++, n++)
        strbuf_add(sb, (*p == '\n' || *p == '\r') ? " " : p, 1);
    if (strlen(error) > ERROR_TEXT_MAX)
        strbuf_adds(sb, "...");
}

int monitor_parse_prometheus_targets(const char *body, size_t len, struct monitor_summary *out,
                                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc)
        return cc_errf(err, errlen, CC_EINVAL, "prometheus targets: invalid JSON: %s", jerr.text);
    int rc = CC_OK;
    struct strbuf down = {0};
    json_t *down_list = NULL;
    const char *status = obj_str(doc, "status");
    if (strcmp(status, "success") != 0) {
        rc = cc_errf(err, errlen, CC_EINVAL, "prometheus targets: status %s: %s",
                     *status ? status : "missing", obj_str(doc, "error"));
        goto out;
    }
    json_t *active = json_object_get(json_object_get(doc, "data"), "activeTargets");
    if (!json_is_array(active)) {
        rc = cc_errf(err, errlen, CC_EINVAL, "prometheus targets: no data.activeTargets array");
        goto out;
    }
    int total = 0, up = 0, unknown = 0;
    down_list = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(active, i, t) {
        if (!json_is_object(t))
            continue;
        total++;
        const char *health = obj_str(t, "health");
        if (!strcmp(health, "up")) {
            up++;
            continue;
        }
        if (!strcmp(health, "unknown"))
            unknown++;
        json_t *labels = json_object_get(t, "labels");
        const char *job = obj_str(labels, "job");
        const char *instance = obj_str(labels, "instance");
        if (!*job)
            job = obj_str(t, "scrapePool");
        if (!*instance)
            instance = obj_str(t, "scrapeUrl");
        const char *error = obj_str(t, "lastError");
        add_down_target(&down, json_array_size(down_list) == 0, job, instance, health, error);
        json_array_append_new(down_list,
                              json_pack("{s:s,s:s,s:s,s:s}", "job", job, "instance", instance,
                                        "health", health, "error", error));
    }
    struct strbuf detail = {0};
    if (total == 0)
        strbuf_adds(&detail, "0/0 targets up; no scrape targets configured");
    else if (up == total)
        strbuf_addf(&detail, "%d/%d targets up", up, total);
    else
        strbuf_addf(&detail, "%d/%d targets up; %s: %s", up, total,
                    unknown == total - up ? "waiting" : "down", down.buf);
    out->detail = strbuf_detach(&detail);
    out->ok = total > 0 && up == total;
    out->starting = total > 0 && up < total && unknown == total - up;
    out->extra = json_pack("{s:i,s:i,s:O}", "targets_up", up, "targets_total", total, "down",
                           down_list);
out:
    json_decref(down_list);
    strbuf_release(&down);
    json_decref(doc);
    return rc;
}

int monitor_parse_grafana_health(const char *body, size_t len, struct monitor_summary *out,
                                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (!doc)
        return cc_errf(err, errlen, CC_EINVAL, "grafana health: invalid JSON: %s", jerr.text);
    int rc = CC_OK;
    const char *database = json_string_value(json_object_get(doc, "database"));
    if (!database) {
        rc = cc_errf(err, errlen, CC_EINVAL, "grafana health: no \"database\" field");
        goto out;
    }
    const char *version = obj_str(doc, "version");
    struct strbuf detail = {0};
    strbuf_addf(&detail, "database %s, version %s", database, *version ? version : "unknown");
    out->detail = strbuf_detach(&detail);
    out->ok = !strcmp(database, "ok");
    out->extra = json_pack("{s:s,s:s}", "database", database, "version", version);
out:
    json_decref(doc);
    return rc;
}

/* ---- HTTP ---------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct strbuf *sb = ctx;
    size_t n = size * nmemb;
    if (sb->len + n > HTTP_MAX_BODY)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    strbuf_add(sb, data, n);
    return n;
}

/* GET http://<hostport><path> with short timeouts. *code gets the HTTP status. */
static int http_get(const char *hostport, const char *path, long *code, struct strbuf *body,
                    char *err, size_t errlen)
{
    char url[512];
    snprintf(url, sizeof url, "http://%s%s", hostport, path);
    CURL *c = curl_easy_init();
    if (!c)
        return cc_errf(err, errlen, CC_ERR, "GET %s: cannot initialise libcurl", url);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* local services; never via a proxy */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cdcctl");
    CURLcode cc = curl_easy_perform(c);
    int rc = CC_OK;
    if (cc != CURLE_OK) {
        rc = cc_errf(err, errlen, cc == CURLE_OPERATION_TIMEDOUT ? CC_ETIMEOUT : CC_ERR,
                     "GET %s: %s", url, *cerr ? cerr : curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    }
    curl_easy_cleanup(c);
    return rc;
}

/* ---- status rows ---------------------------------------------------------------- */

/* A monitoring service probed over HTTP for its status row. */
struct probe {
    const char *service; /* service name, also the row's kind */
    int port;            /* container port */
    const char *path;    /* GET path */
    const char *what;    /* the path as named in messages */
    long codes[2];       /* HTTP statuses whose body carries the answer */
    int (*parse)(const char *body, size_t len, struct monitor_summary *out, char *err,
                 size_t errlen);
};

static const struct probe probes[] = {
    {"prometheus", PROMETHEUS_PORT, "/api/v1/targets?state=active", "/api/v1/targets",
     {200, 200}, monitor_parse_prometheus_targets},
    /* 200 when healthy, 503 when its database fails; both carry the health body. */
    {"grafana", GRAFANA_PORT, "/api/health", "/api/health", {200, 503},
     monitor_parse_grafana_health},
};

static void probe_row(const struct manifest *m, const struct endpoint_resolver *r,
                      const struct probe *p, struct status_table *t)
{
    char hostport[256], err[ERRLEN] = "";
    struct strbuf body = {0};
    struct monitor_summary s = {0};
    long code = 0;
    if (endpoint_resolve(r, m, p->service, p->port, hostport, sizeof hostport, err,
                         sizeof err) != CC_OK ||
        http_get(hostport, p->path, &code, &body, err, sizeof err) != CC_OK) {
        status_add(t, p->service, p->service, "unreachable", "unhealthy", err, NULL, 0);
        goto out;
    }
    if (code != p->codes[0] && code != p->codes[1]) {
        snprintf(err, sizeof err, "GET %s on %s: HTTP %ld", p->what, hostport, code);
        status_add(t, p->service, p->service, "running", "unhealthy", err, NULL, 0);
        goto out;
    }
    if (p->parse(body.buf ? body.buf : "", body.len, &s, err, sizeof err) != CC_OK) {
        status_add(t, p->service, p->service, "running", "unhealthy", err, NULL, 0);
        goto out;
    }
    int ok = s.ok && code == 200;
    status_add(t, p->service, p->service, "running",
               ok ? "healthy" : s.starting ? "starting" : "unhealthy", s.detail, s.extra, ok);
    s.extra = NULL; /* the row owns it now */
out:
    monitor_summary_release(&s);
    strbuf_release(&body);
}

void monitor_status(const struct manifest *m, const struct endpoint_resolver *r,
                    struct status_table *t)
{
    if (!m || !t)
        return;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (manifest_service(m, probes[i].service))
            probe_row(m, r, &probes[i], t);
}
