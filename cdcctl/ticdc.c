/* ticdc: TiCDC REST client (v2, v1 fallback) and changefeed reconciliation. */
#include "ticdc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ticdc_client {
    char *base; /* "http://host:port" without a trailing slash */
    char *hostport;
    int api;    /* 0 unknown, 1, 2 */
    long timeout_ms;
    CURL *h;
};

/* ------------------------------------------------------------------- HTTP */

struct ticdc_client *ticdc_client_new(const char *hostport, double timeout_s)
{
    struct ticdc_client *c = xcalloc(1, sizeof *c);
    struct strbuf sb = {0};
    if (strncmp(hostport, "http://", 7) == 0 || strncmp(hostport, "https://", 8) == 0)
        strbuf_adds(&sb, hostport);
    else
        strbuf_addf(&sb, "http://%s", hostport);
    while (sb.len && sb.buf[sb.len - 1] == '/')
        sb.buf[--sb.len] = '\0';
    c->base = strbuf_detach(&sb);
    c->hostport = xstrdup(hostport);
    c->timeout_ms = timeout_s > 0 ? (long)(timeout_s * 1000) : 30000;
    return c;
}

void ticdc_client_free(struct ticdc_client *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->base);
    free(c->hostport);
    free(c);
}

int ticdc_api_version(const struct ticdc_client *c)
{
    return c->api;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    struct strbuf *sb = ud;
    if (sb->len + size * nmemb > (16u << 20))
        return 0;
    strbuf_add(sb, data, size * nmemb);
    return size * nmemb;
}

/* One request. CC_OK when the server answered (any status, body in resp);
 * CC_ERR when it did not (err says why). */
static int call(struct ticdc_client *c, const char *method, const char *path, const char *body,
                long *status, struct strbuf *resp, char *err, size_t errlen)
{
    if (!c->h && !(c->h = curl_easy_init()))
        return cc_errf(err, errlen, CC_ERR, "curl_easy_init failed");
    CURL *h = c->h;
    struct curl_slist *hdrs = NULL;
    struct strbuf url = {0};
    strbuf_addf(&url, "%s%s", c->base, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url.buf);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (!getenv("no_proxy") && !getenv("NO_PROXY"))
        curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    strbuf_reset(resp);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    strbuf_release(&url);
    if (rc != CURLE_OK)
        return cc_errf(err, errlen, CC_ERR, "TiCDC at %s: %s", c->hostport,
                       curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (!resp->buf)
        strbuf_add(resp, "", 0);
    return CC_OK;
}

/* The error_code of a TiCDC error body, or "" */
static void error_code_of(const char *body, char *code, size_t len)
{
    json_t *doc = json_loads(body, 0, NULL);
    const char *v = json_string_value(json_object_get(doc, "error_code"));
    snprintf(code, len, "%s", v ? v : "");
    json_decref(doc);
}

void ticdc_format_error(long status, const char *body, char *out, size_t outlen)
{
    json_t *doc = json_loads(body ? body : "", 0, NULL);
    const char *code = json_string_value(json_object_get(doc, "error_code"));
    const char *msg = json_string_value(json_object_get(doc, "error_msg"));
    if (code || msg) {
        snprintf(out, outlen, "%s: %s (HTTP %ld)", code ? code : "-", msg ? msg : "-", status);
    } else {
        char head[160];
        size_t j = 0;
        for (const char *p = body ? body : ""; *p && j + 1 < sizeof head; p++)
            head[j++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
        head[j] = '\0';
        while (j && head[j - 1] == ' ')
            head[--j] = '\0';
        snprintf(out, outlen, "HTTP %ld%s%s", status, j ? ": " : "", head);
    }
    json_decref(doc);
}

/* A 404 that is not TiCDC's JSON error: the route does not exist (old server). */
static int route_missing(long status, const char *body)
{
    if (status != 404)
        return 0;
    char code[64];
    error_code_of(body, code, sizeof code);
    return code[0] == '\0';
}

/* Calls "/api/vN" + rest with the version in use; with the version unknown
 * tries v2 and falls back to v1 on a route-missing 404. */
static int api_call(struct ticdc_client *c, const char *method, const char *rest_v2,
                    const char *rest_v1, const char *body_v2, const char *body_v1, long *status,
                    struct strbuf *resp, char *err, size_t errlen)
{
    char path[512];
    int rc;
    if (c->api != 1) {
        snprintf(path, sizeof path, "/api/v2%s", rest_v2);
        if ((rc = call(c, method, path, body_v2, status, resp, err, errlen)) != CC_OK)
            return rc;
        if (!route_missing(*status, resp->buf)) {
            if (*status != 503)
                c->api = 2;
            return CC_OK;
        }
        if (c->api == 2)
            return CC_OK;
        c->api = 1;
    }
    snprintf(path, sizeof path, "/api/v1%s", rest_v1);
    return call(c, method, path, body_v1, status, resp, err, errlen);
}

/* ---------------------------------------------------------------- readiness */

/* One readiness probe: 1 ready, 0 not yet (why filled). */
static int probe_ready(struct ticdc_client *c, char *why, size_t whylen)
{
    struct strbuf resp = {0};
    long status = 0;
    int ready = 0;
    if (api_call(c, "GET", "/status", "/status", NULL, NULL, &status, &resp, why, whylen) !=
        CC_OK)
        goto out;
    if (status != 200) {
        ticdc_format_error(status, resp.buf, why, whylen);
        goto out;
    }
    if (api_call(c, "GET", "/captures", "/captures", NULL, NULL, &status, &resp, why, whylen) !=
        CC_OK)
        goto out;
    if (status != 200) {
        ticdc_format_error(status, resp.buf, why, whylen);
        goto out;
    }
    json_t *doc = json_loads(resp.buf, 0, NULL);
    json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "items");
    size_t i;
    json_t *cap;
    int owner = 0;
    json_array_foreach(items, i, cap) {
        if (json_is_true(json_object_get(cap, "is_owner")))
            owner = 1;
    }
    json_decref(doc);
    if (owner)
        ready = 1;
    else
        snprintf(why, whylen, "no capture is owner yet");
out:
    strbuf_release(&resp);
    return ready;
}

int ticdc_wait_ready(struct ticdc_client *c, double deadline, FILE *progress, char *err,
                     size_t errlen)
{
    char why[ERRLEN], last[ERRLEN] = "";
    double delay = 0.5;
    for (;;) {
        if (probe_ready(c, why, sizeof why))
            return CC_OK;
        if (progress && strcmp(why, last) != 0) {
            fprintf(progress, "ticdc: waiting for TiCDC at %s (%s)\n", c->hostport, why);
            fflush(progress);
            snprintf(last, sizeof last, "%s", why);
        }
        if (now_monotonic() + delay > deadline)
            return cc_errf(err, errlen, CC_ETIMEOUT, "TiCDC at %s not ready: %s", c->hostport,
                           why);
        sleep_seconds(delay);
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
}

/* --------------------------------------------------------------- changefeed */

void ticdc_changefeed_release(struct ticdc_changefeed *cf)
{
    if (!cf)
        return;
    free(cf->id);
    free(cf->state);
    free(cf->sink_uri);
    free(cf->error_code);
    free(cf->error_msg);
    json_decref(cf->config);
    memset(cf, 0, sizeof *cf);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* jansson's integers are int64: one uint64 literal above INT64_MAX (a PD cluster
 * id after 2038, a TSO) would fail the whole document. Such literals are quoted so
 * they parse as strings; readers accept both forms. malloc'd. */
static char *quote_big_integers(const char *s)
{
    struct strbuf sb = {0};
    const char *p = s;
    while (*p) {
        if (*p == '"') {
            const char *q = p + 1;
            while (*q && *q != '"')
                q += (*q == '\\' && q[1]) ? 2 : 1;
            if (*q)
                q++;
            strbuf_add(&sb, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (*p == '-' || isdigit((unsigned char)*p)) {
            const char *q = p + (*p == '-');
            while (isdigit((unsigned char)*q))
                q++;
            const char *int_end = q;
            if (*q == '.')
                for (q++; isdigit((unsigned char)*q); q++)
                    ;
            if (*q == 'e' || *q == 'E') {
                q++;
                if (*q == '+' || *q == '-')
                    q++;
                while (isdigit((unsigned char)*q))
                    q++;
            }
            size_t n = (size_t)(int_end - p);
            int big = *p != '-' && int_end == q &&
                      (n > 19 || (n == 19 && strncmp(p, "9223372036854775807", 19) > 0));
            if (big)
                strbuf_addf(&sb, "\"%.*s\"", (int)n, p);
            else
                strbuf_add(&sb, p, (size_t)(q - p));
            p = q > p ? q : p + 1;
            continue;
        }
        strbuf_add(&sb, p, 1);
        p++;
    }
    return strbuf_detach(&sb);
}

/* A uint64 from a JSON integer or a decimal string (see quote_big_integers). */
static uint64_t json_u64(const json_t *v)
{
    if (json_is_integer(v))
        return (uint64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

int ticdc_parse_changefeed(const char *body, struct ticdc_changefeed *cf, char *err,
                           size_t errlen)
{
    json_error_t je;
    memset(cf, 0, sizeof *cf);
    char *safe = quote_big_integers(body);
    json_t *doc = json_loads(safe, 0, &je);
    free(safe);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return cc_errf(err, errlen, CC_EINVAL, "changefeed answer is not a JSON object: %s",
                       doc ? "wrong type" : je.text);
    }
    const char *state = json_string_value(json_object_get(doc, "state"));
    if (!state) {
        json_decref(doc);
        return cc_errf(err, errlen, CC_EINVAL, "changefeed answer has no state");
    }
    cf->id = dup_or_null(json_string_value(json_object_get(doc, "id")));
    cf->state = xstrdup(state);
    cf->sink_uri = dup_or_null(json_string_value(json_object_get(doc, "sink_uri")));
    json_t *ts = json_object_get(doc, "checkpoint_ts");
    if (!ts)
        ts = json_object_get(doc, "checkpoint_tso");
    cf->checkpoint_ts = json_u64(ts);
    json_t *e = json_object_get(doc, "error");
    if (json_is_object(e)) {
        cf->error_code = dup_or_null(json_string_value(json_object_get(e, "code")));
        cf->error_msg = dup_or_null(json_string_value(json_object_get(e, "message")));
    }
    json_t *cfg = json_object_get(doc, "config");
    if (json_is_object(cfg))
        cf->config = json_incref(cfg);
    json_decref(doc);
    return CC_OK;
}

static int is_not_exists(long status, const char *body)
{
    char code[96];
    error_code_of(body, code, sizeof code);
    return (status == 400 || status == 404) && strcmp(code, "CDC:ErrChangeFeedNotExists") == 0;
}

int ticdc_get_changefeed(struct ticdc_client *c, const char *id, struct ticdc_changefeed *cf,
                         char *err, size_t errlen)
{
    struct strbuf resp = {0};
    long status = 0;
    char path[300];
    int rc;
    memset(cf, 0, sizeof *cf);
    snprintf(path, sizeof path, "/changefeeds/%s", id);
    if ((rc = api_call(c, "GET", path, path, NULL, NULL, &status, &resp, err, errlen)) != CC_OK)
        goto out;
    if (status == 200) {
        rc = ticdc_parse_changefeed(resp.buf, cf, err, errlen);
        goto out;
    }
    char why[ERRLEN];
    ticdc_format_error(status, resp.buf, why, sizeof why);
    rc = cc_errf(err, errlen, is_not_exists(status, resp.buf) ? CC_ENOTFOUND : CC_ERR, "%s", why);
out:
    strbuf_release(&resp);
    return rc;
}

/* Sends a mutation and checks for 2xx. */
static int mutate(struct ticdc_client *c, const char *method, const char *path, json_t *body_v2,
                  json_t *body_v1, const char *what, char *err, size_t errlen)
{
    struct strbuf resp = {0};
    long status = 0;
    char *b2 = body_v2 ? json_dumps(body_v2, JSON_COMPACT) : NULL;
    char *b1 = body_v1 ? json_dumps(body_v1, JSON_COMPACT) : NULL;
    int rc = api_call(c, method, path, path, b2, b1, &status, &resp, err, errlen);
    if (rc == CC_OK && (status < 200 || status > 299)) {
        char why[ERRLEN];
        ticdc_format_error(status, resp.buf, why, sizeof why);
        rc = cc_errf(err, errlen, is_not_exists(status, resp.buf) ? CC_ENOTFOUND : CC_ERR,
                     "%s: %s", what, why);
    }
    free(b2);
    free(b1);
    strbuf_release(&resp);
    return rc;
}

int ticdc_create_changefeed(struct ticdc_client *c, const char *id, const char *sink_uri,
                            const json_t *replica_config, char *err, size_t errlen)
{
    char what[200];
    snprintf(what, sizeof what, "create changefeed %s", id);
    json_t *b2 = json_pack("{s:s,s:s}", "changefeed_id", id, "sink_uri", sink_uri);
    json_t *b1 = json_pack("{s:s,s:s}", "changefeed_id", id, "sink_uri", sink_uri);
    if (replica_config) {
        json_object_set_new(b2, "replica_config", json_deep_copy(replica_config));
        json_t *rules = json_object_get(json_object_get(replica_config, "filter"), "rules");
        if (rules)
            json_object_set_new(b1, "filter_rules", json_deep_copy(rules));
    }
    int rc = mutate(c, "POST", "/changefeeds", b2, b1, what, err, errlen);
    json_decref(b2);
    json_decref(b1);
    return rc;
}

int ticdc_pause_changefeed(struct ticdc_client *c, const char *id, char *err, size_t errlen)
{
    char path[300], what[200];
    snprintf(path, sizeof path, "/changefeeds/%s/pause", id);
    snprintf(what, sizeof what, "pause changefeed %s", id);
    return mutate(c, "POST", path, NULL, NULL, what, err, errlen);
}

int ticdc_resume_changefeed(struct ticdc_client *c, const char *id, char *err, size_t errlen)
{
    char path[300], what[200];
    snprintf(path, sizeof path, "/changefeeds/%s/resume", id);
    snprintf(what, sizeof what, "resume changefeed %s", id);
    json_t *empty = json_object();
    int rc = mutate(c, "POST", path, empty, NULL, what, err, errlen);
    json_decref(empty);
    return rc;
}

int ticdc_update_changefeed(struct ticdc_client *c, const char *id, const char *sink_uri,
                            const json_t *replica_config, char *err, size_t errlen)
{
    char path[300], what[200];
    snprintf(path, sizeof path, "/changefeeds/%s", id);
    snprintf(what, sizeof what, "update changefeed %s", id);
    json_t *b2 = json_object(), *b1 = json_object();
    if (sink_uri) {
        json_object_set_new(b2, "sink_uri", json_string(sink_uri));
        json_object_set_new(b1, "sink_uri", json_string(sink_uri));
    }
    if (replica_config) {
        json_object_set_new(b2, "replica_config", json_deep_copy(replica_config));
        json_t *rules = json_object_get(json_object_get(replica_config, "filter"), "rules");
        if (rules)
            json_object_set_new(b1, "filter_rules", json_deep_copy(rules));
    }
    int rc = mutate(c, "PUT", path, b2, b1, what, err, errlen);
    json_decref(b2);
    json_decref(b1);
    return rc;
}

/* ------------------------------------------------------------------- ensure */

static void say(FILE *progress, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *progress, const char *fmt, ...)
{
    if (!progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("ticdc: ", progress);
    vfprintf(progress, fmt, ap);
    fputc('\n', progress);
    va_end(ap);
    fflush(progress);
}

static void describe_state(const struct ticdc_changefeed *cf, char *out, size_t outlen)
{
    if (cf->error_code || cf->error_msg)
        snprintf(out, outlen, "%s (%s: %s)", cf->state, cf->error_code ? cf->error_code : "-",
                 cf->error_msg ? cf->error_msg : "-");
    else
        snprintf(out, outlen, "%s", cf->state);
}

int ticdc_ensure_changefeed(struct ticdc_client *c, const struct ticdc_desired *d,
                            FILE *progress, char *err, size_t errlen)
{
    struct ticdc_changefeed cf = {0};
    struct strbuf diff = {0}, cdiff = {0};
    json_t *merged = NULL;
    char *masked_uri = ticdc_mask_sink_uri(d->sink_uri);
    int rc;
    if (!ticdc_valid_changefeed_id(d->id)) {
        rc = cc_errf(err, errlen, CC_EINVAL,
                     "changefeed id '%s' must match ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$ (at most 128 "
                     "characters, no underscores)",
                     d->id);
        goto out;
    }
    rc = ticdc_get_changefeed(c, d->id, &cf, err, errlen);
    if (rc == CC_ENOTFOUND) {
        if ((rc = ticdc_create_changefeed(c, d->id, d->sink_uri, d->replica_config, err,
                                          errlen)) != CC_OK)
            goto out;
        json_t *rules = json_object_get(json_object_get(d->replica_config, "filter"), "rules");
        char *r = rules ? json_dumps(rules, JSON_COMPACT) : xstrdup("(server default)");
        say(progress, "created changefeed %s (sink %s, filter rules %s)", d->id, masked_uri, r);
        free(r);
        if (c->api == 1 && d->replica_config &&
            json_object_size(d->replica_config) > (rules ? 1u : 0u))
            say(progress, "note: this TiCDC speaks only API v1; replica settings other than "
                          "filter rules were not sent");
        goto out;
    }
    if (rc != CC_OK)
        goto out;

    int sink_drift = ticdc_sink_uri_diff(d->sink_uri, cf.sink_uri, &diff);
    int cfg_drift = 0;
    if (c->api != 1 && d->replica_config)
        cfg_drift = ticdc_config_diff(d->replica_config, cf.config, &cdiff);
    char was[ERRLEN];
    describe_state(&cf, was, sizeof was);

    if (sink_drift || cfg_drift) {
        if (strcmp(cf.state, "finished") == 0 || strcmp(cf.state, "removed") == 0) {
            rc = cc_errf(err, errlen, CC_ERR,
                         "changefeed %s is %s and differs from the manifest (%s%s%s); remove it "
                         "(DELETE /api/v2/changefeeds/%s) so it can be recreated",
                         d->id, cf.state, diff.len ? diff.buf : "", diff.len && cdiff.len ? "; " : "",
                         cdiff.len ? cdiff.buf : "", d->id);
            goto out;
        }
        int paused = 0;
        if (strcmp(cf.state, "stopped") != 0 && strcmp(cf.state, "failed") != 0) {
            if ((rc = ticdc_pause_changefeed(c, d->id, err, errlen)) != CC_OK)
                goto out;
            paused = 1;
        }
        if (cfg_drift)
            merged = ticdc_merge_config(cf.config, d->replica_config);
        if ((rc = ticdc_update_changefeed(c, d->id, sink_drift ? d->sink_uri : NULL, merged, err,
                                          errlen)) != CC_OK)
            goto out;
        if ((rc = ticdc_resume_changefeed(c, d->id, err, errlen)) != CC_OK)
            goto out;
        say(progress, "changefeed %s differed from the manifest: %s%s%s%s%s; %supdated and resumed",
            d->id, sink_drift ? "sink_uri " : "", diff.len ? diff.buf : "",
            sink_drift && cfg_drift ? "; " : "", cfg_drift ? "replica_config " : "",
            cdiff.len ? cdiff.buf : "", paused ? "paused, " : "");
        goto out;
    }
    if (strcmp(cf.state, "stopped") == 0 || strcmp(cf.state, "failed") == 0 ||
        strcmp(cf.state, "warning") == 0) {
        if ((rc = ticdc_resume_changefeed(c, d->id, err, errlen)) != CC_OK)
            goto out;
        say(progress, "changefeed %s was %s; resumed", d->id, was);
        goto out;
    }
    if (strcmp(cf.state, "normal") == 0) {
        char when[40];
        ticdc_tso_format(cf.checkpoint_ts, when, sizeof when);
        say(progress, "changefeed %s is normal and matches the manifest (checkpoint %s UTC)",
            d->id, when);
        goto out;
    }
    say(progress, "changefeed %s is %s; left as is", d->id, was);
out:
    if (rc != CC_OK)
        ticdc_scrub_sink_secrets(err, d->sink_uri);
    free(masked_uri);
    json_decref(merged);
    strbuf_release(&diff);
    strbuf_release(&cdiff);
    ticdc_changefeed_release(&cf);
    return rc;
}
