/* ticdc_sink: the TiCDC client's pure parts (see ticdc.h): changefeed ids, TSOs,
 * sink URIs (default, masking, scrubbing, semantic diff) and replica config
 * (desired, diff, merge). No I/O. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ticdc.h"

int ticdc_valid_changefeed_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 128 || id[0] == '-' || id[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (id[i] == '-') {
            if (id[i + 1] == '-')
                return 0;
        } else if (!isalnum((unsigned char)id[i]) || (unsigned char)id[i] > 127) {
            return 0;
        }
    }
    return 1;
}

double ticdc_tso_unix(uint64_t tso)
{
    return (double)(tso >> 18) / 1000.0;
}

void ticdc_tso_format(uint64_t tso, char *out, size_t outlen)
{
    uint64_t ms = tso >> 18;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03u", buf, (unsigned)(ms % 1000));
}

char *ticdc_default_sink_uri(const char *brokers, const char *topic, int partitions, int rf)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb,
                "kafka://%s/%s?protocol=canal-json&kafka-version=2.4.0&partition-num=%d"
                "&replication-factor=%d&max-message-bytes=1048576&enable-tidb-extension=true",
                brokers, topic, partitions, rf);
    return strbuf_detach(&sb);
}

struct uri {
    char *scheme, *user, *pass, *path;
    char **hosts;
    size_t nhosts;
    struct kv *params;
    size_t nparams;
};

static char *pct_decode(const char *s, size_t n, int plus_space)
{
    struct strbuf sb = {0};
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char ch = (char)strtol(hex, NULL, 16);
            strbuf_add(&sb, &ch, 1);
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            strbuf_add(&sb, " ", 1);
        } else {
            strbuf_add(&sb, s + i, 1);
        }
    }
    return strbuf_detach(&sb);
}

static void uri_release(struct uri *u)
{
    free(u->scheme);
    free(u->user);
    free(u->pass);
    free(u->path);
    for (size_t i = 0; i < u->nhosts; i++)
        free(u->hosts[i]);
    free(u->hosts);
    for (size_t i = 0; i < u->nparams; i++) {
        free(u->params[i].key);
        free(u->params[i].value);
    }
    free(u->params);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static void uri_parse(const char *s, struct uri *u)
{
    memset(u, 0, sizeof *u);
    const char *p = strstr(s, "://");
    if (p) {
        u->scheme = xstrndup(s, (size_t)(p - s));
        for (char *q = u->scheme; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        p += 3;
    } else {
        u->scheme = xstrdup("");
        p = s;
    }
    size_t alen = strcspn(p, "/?");
    const char *auth = p, *at = NULL;
    for (const char *q = auth; q < auth + alen; q++)
        if (*q == '@')
            at = q;
    const char *hosts = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            u->user = pct_decode(auth, (size_t)(colon - auth), 0);
            u->pass = pct_decode(colon + 1, (size_t)(at - colon - 1), 0);
        } else {
            u->user = pct_decode(auth, (size_t)(at - auth), 0);
        }
        hosts = at + 1;
    }
    size_t cap = 4;
    u->hosts = xmalloc(cap * sizeof *u->hosts);
    const char *h = hosts;
    while (h < auth + alen) {
        size_t hl = strcspn(h, ",");
        if (h + hl > auth + alen)
            hl = (size_t)(auth + alen - h);
        if (hl) {
            if (u->nhosts == cap)
                u->hosts = xrealloc(u->hosts, (cap *= 2) * sizeof *u->hosts);
            u->hosts[u->nhosts] = xstrndup(h, hl);
            for (char *q = u->hosts[u->nhosts]; *q; q++)
                *q = (char)tolower((unsigned char)*q);
            u->nhosts++;
        }
        h += hl + 1;
    }
    qsort(u->hosts, u->nhosts, sizeof *u->hosts, cmp_str);
    p = auth + alen;
    size_t plen = strcspn(p, "?");
    const char *ps = p;
    while (plen && *ps == '/') {
        ps++;
        plen--;
    }
    while (plen && ps[plen - 1] == '/')
        plen--;
    u->path = pct_decode(ps, plen, 0);
    p = strchr(p, '?');
    if (!p)
        return;
    p++;
    size_t pcap = 8;
    u->params = xmalloc(pcap * sizeof *u->params);
    while (*p) {
        size_t len = strcspn(p, "&");
        if (len) {
            const char *eq = memchr(p, '=', len);
            char *k = pct_decode(p, eq ? (size_t)(eq - p) : len, 1);
            char *v = eq ? pct_decode(eq + 1, len - (size_t)(eq - p) - 1, 1) : xstrdup("");
            size_t j;
            for (j = 0; j < u->nparams; j++)
                if (strcmp(u->params[j].key, k) == 0)
                    break;
            if (j < u->nparams) { /* a repeated key: TiCDC reads the first */
                free(k);
                free(v);
            } else {
                if (u->nparams == pcap)
                    u->params = xrealloc(u->params, (pcap *= 2) * sizeof *u->params);
                u->params[u->nparams].key = k;
                u->params[u->nparams].value = v;
                u->nparams++;
            }
        }
        p += len;
        if (*p == '&')
            p++;
    }
    qsort(u->params, u->nparams, sizeof *u->params, cmp_kv);
}

static int secret_key(const char *k)
{
    static const char *const words[] = {"password", "secret", "token", "key", "credential"};
    char low[128];
    size_t i;
    for (i = 0; k[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[i] = '\0';
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (strstr(low, words[w]))
            return 1;
    return 0;
}

static int masked(const char *v)
{
    return v && (strcmp(v, "xxxxx") == 0 || strcmp(v, "******") == 0);
}

char *ticdc_mask_sink_uri(const char *uri)
{
    struct strbuf sb = {0};
    const char *p = strstr(uri, "://");
    const char *start = p ? p + 3 : uri;
    strbuf_add(&sb, uri, (size_t)(start - uri));
    size_t alen = strcspn(start, "/?");
    const char *at = NULL;
    for (const char *q = start; q < start + alen; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(start, ':', (size_t)(at - start));
        if (colon) {
            strbuf_add(&sb, start, (size_t)(colon - start));
            strbuf_adds(&sb, ":xxxxx");
            strbuf_add(&sb, at, (size_t)(start + alen - at));
        } else {
            strbuf_add(&sb, start, alen);
        }
    } else {
        strbuf_add(&sb, start, alen);
    }
    const char *rest = start + alen;
    const char *q = strchr(rest, '?');
    if (!q) {
        strbuf_adds(&sb, rest);
        return strbuf_detach(&sb);
    }
    strbuf_add(&sb, rest, (size_t)(q - rest + 1));
    q++;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        if (eq) {
            char *k = xstrndup(q, (size_t)(eq - q));
            strbuf_add(&sb, q, (size_t)(eq - q + 1));
            if (secret_key(k))
                strbuf_adds(&sb, "xxxxx");
            else
                strbuf_add(&sb, eq + 1, len - (size_t)(eq - q) - 1);
            free(k);
        } else {
            strbuf_add(&sb, q, len);
        }
        q += len;
        if (*q == '&') {
            strbuf_add(&sb, "&", 1);
            q++;
        }
    }
    return strbuf_detach(&sb);
}

/* Replaces every occurrence of secret in text with x's, in place (never longer). */
static void scrub_value(char *text, const char *secret, size_t n)
{
    char *from = text, *hit;
    if (n == 0)
        return;
    char *needle = xstrndup(secret, n);
    while ((hit = strstr(from, needle)) != NULL) {
        size_t xs = n >= 5 ? 5 : n;
        memset(hit, 'x', xs);
        memmove(hit + xs, hit + n, strlen(hit + n) + 1);
        from = hit + xs;
    }
    free(needle);
}

void ticdc_scrub_sink_secrets(char *text, const char *sink_uri)
{
    if (!text || !sink_uri)
        return;
    /* raw (as written, maybe percent-encoded) values first */
    const char *p = strstr(sink_uri, "://");
    const char *auth = p ? p + 3 : sink_uri;
    size_t alen = strcspn(auth, "/?");
    const char *at = NULL;
    for (const char *q = auth; q < auth + alen; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon)
            scrub_value(text, colon + 1, (size_t)(at - colon - 1));
    }
    const char *q = strchr(auth + alen, '?');
    while (q && *q) {
        q++;
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        if (eq) {
            char *k = xstrndup(q, (size_t)(eq - q));
            if (secret_key(k))
                scrub_value(text, eq + 1, len - (size_t)(eq - q) - 1);
            free(k);
        }
        q += len;
    }
    /* then the decoded forms */
    struct uri u;
    uri_parse(sink_uri, &u);
    if (u.pass)
        scrub_value(text, u.pass, strlen(u.pass));
    for (size_t i = 0; i < u.nparams; i++)
        if (secret_key(u.params[i].key))
            scrub_value(text, u.params[i].value, strlen(u.params[i].value));
    uri_release(&u);
}

static void diff_item(struct strbuf *diff, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void diff_item(struct strbuf *diff, const char *fmt, ...)
{
    if (!diff)
        return;
    va_list ap;
    if (diff->len)
        strbuf_adds(diff, ", ");
    va_start(ap, fmt);
    strbuf_vaddf(diff, fmt, ap);
    va_end(ap);
}

int ticdc_sink_uri_diff(const char *want, const char *have, struct strbuf *diff)
{
    struct uri w, h;
    int differ = 0;
    uri_parse(want, &w);
    uri_parse(have ? have : "", &h);
    if (strcmp(w.scheme, h.scheme) != 0) {
        differ = 1;
        diff_item(diff, "scheme %s -> %s", h.scheme, w.scheme);
    }
    if (strcmp(w.user ? w.user : "", h.user ? h.user : "") != 0) {
        differ = 1;
        diff_item(diff, "user %s -> %s", h.user ? h.user : "(none)", w.user ? w.user : "(none)");
    }
    if (!masked(h.pass) && strcmp(w.pass ? w.pass : "", h.pass ? h.pass : "") != 0) {
        differ = 1;
        diff_item(diff, "password changed");
    }
    int hosts_differ = w.nhosts != h.nhosts;
    for (size_t i = 0; !hosts_differ && i < w.nhosts; i++)
        hosts_differ = strcmp(w.hosts[i], h.hosts[i]) != 0;
    if (hosts_differ) {
        struct strbuf a = {0}, b = {0};
        for (size_t i = 0; i < h.nhosts; i++)
            strbuf_addf(&a, "%s%s", i ? "," : "", h.hosts[i]);
        for (size_t i = 0; i < w.nhosts; i++)
            strbuf_addf(&b, "%s%s", i ? "," : "", w.hosts[i]);
        differ = 1;
        diff_item(diff, "brokers %s -> %s", a.len ? a.buf : "(none)", b.len ? b.buf : "(none)");
        strbuf_release(&a);
        strbuf_release(&b);
    }
    if (strcmp(w.path, h.path) != 0) {
        differ = 1;
        diff_item(diff, "%s %s -> %s", strcmp(w.scheme, "kafka") == 0 ? "topic" : "path",
                  h.path[0] ? h.path : "(none)", w.path[0] ? w.path : "(none)");
    }
    size_t i = 0, j = 0;
    while (i < w.nparams || j < h.nparams) {
        int c = i >= w.nparams ? 1 : j >= h.nparams ? -1 : strcmp(w.params[i].key, h.params[j].key);
        if (c < 0) {
            differ = 1;
            diff_item(diff, "%s (unset) -> %s", w.params[i].key,
                      secret_key(w.params[i].key) ? "xxxxx" : w.params[i].value);
            i++;
        } else if (c > 0) {
            differ = 1;
            diff_item(diff, "%s %s -> (unset)", h.params[j].key,
                      secret_key(h.params[j].key) ? "xxxxx" : h.params[j].value);
            j++;
        } else {
            if (!masked(h.params[j].value) && strcmp(w.params[i].value, h.params[j].value) != 0) {
                differ = 1;
                if (secret_key(w.params[i].key))
                    diff_item(diff, "%s changed", w.params[i].key);
                else
                    diff_item(diff, "%s %s -> %s", w.params[i].key, h.params[j].value,
                              w.params[i].value);
            }
            i++;
            j++;
        }
    }
    uri_release(&w);
    uri_release(&h);
    return differ;
}

json_t *ticdc_desired_config(const struct strlist *rules, const char *extra, size_t extra_len,
                             char *err, size_t errlen)
{
    json_t *cfg;
    if (extra && extra_len) {
        json_error_t je;
        cfg = json_loadb(extra, extra_len, 0, &je);
        if (!cfg) {
            cc_errf(err, errlen, CC_EINVAL, "ticdc config: line %d column %d: %s", je.line,
                    je.column, je.text);
            return NULL;
        }
        if (!json_is_object(cfg)) {
            json_decref(cfg);
            cc_errf(err, errlen, CC_EINVAL, "ticdc config: want a JSON object (replica_config)");
            return NULL;
        }
    } else {
        cfg = json_object();
    }
    if (rules && rules->n) {
        json_t *filter = json_object_get(cfg, "filter");
        if (!json_is_object(filter)) {
            filter = json_object();
            json_object_set_new(cfg, "filter", filter);
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < rules->n; i++)
            json_array_append_new(arr, json_string(rules->items[i]));
        json_object_set_new(filter, "rules", arr);
    }
    return cfg;
}

static void config_diff_at(const json_t *want, const json_t *have, const char *path,
                           struct strbuf *diff, int *differ)
{
    if (json_is_object(want)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)want, key, v) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
            config_diff_at(v, json_is_object(have) ? json_object_get(have, key) : NULL, sub, diff,
                           differ);
        }
        return;
    }
    if (have && json_equal((json_t *)want, (json_t *)have))
        return;
    /* numbers: 1 and 1.0 are the same setting */
    if (json_is_number(want) && json_is_number(have) &&
        json_number_value(want) == json_number_value(have))
        return;
    *differ = 1;
    char *a = have ? json_dumps(have, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("(unset)");
    char *b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
    diff_item(diff, "%s %s -> %s", path, a, b);
    free(a);
    free(b);
}

int ticdc_config_diff(const json_t *want, const json_t *have, struct strbuf *diff)
{
    int differ = 0;
    if (!want)
        return 0;
    config_diff_at(want, have, "", diff, &differ);
    return differ;
}

json_t *ticdc_merge_config(const json_t *have, const json_t *want)
{
    json_t *out = json_is_object(have) ? json_deep_copy(have) : json_object();
    const char *key;
    json_t *v;
    if (!json_is_object(want))
        return out;
    json_object_foreach((json_t *)want, key, v) {
        json_t *cur = json_object_get(out, key);
        if (json_is_object(v) && json_is_object(cur))
            json_object_set_new(out, key, ticdc_merge_config(cur, v));
        else
            json_object_set_new(out, key, json_deep_copy(v));
    }
    return out;
}

