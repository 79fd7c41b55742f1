/* docker_stream: pure parsers of the Docker Engine API streams and builders of
 * what the client sends (see docker_stream.h). No sockets here. */
#include "docker_stream.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* ------------------------------------------------------------------ lines */

int jsonl_feed(struct jsonl *j, const char *data, size_t len, jsonl_line_fn fn, void *ctx)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            strbuf_add(&j->partial, p, (size_t)(end - p));
            break;
        }
        int rc;
        if (j->partial.len) {
            strbuf_add(&j->partial, p, (size_t)(nl - p));
            rc = fn(j->partial.buf, j->partial.len, ctx);
            strbuf_reset(&j->partial);
        } else {
            rc = fn(p, (size_t)(nl - p), ctx);
        }
        if (rc)
            return rc;
        p = nl + 1;
    }
    return 0;
}

int jsonl_finish(struct jsonl *j, jsonl_line_fn fn, void *ctx)
{
    int rc = 0;
    if (j->partial.len)
        rc = fn(j->partial.buf, j->partial.len, ctx);
    strbuf_reset(&j->partial);
    return rc;
}

void jsonl_release(struct jsonl *j)
{
    if (j)
        strbuf_release(&j->partial);
}

/* Decodes one JSON line into an object; NULL for blank or non-object lines. */
static json_t *decode_line(const char *line, size_t len)
{
    while (len && isspace((unsigned char)line[len - 1]))
        len--;
    while (len && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    if (!len)
        return NULL;
    json_t *o = json_loadb(line, len, 0, NULL);
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The message of an {"errorDetail":{"message"}} / {"error":"..."} line, or NULL. */
static const char *line_error(json_t *o)
{
    const char *msg = json_string_value(json_object_get(json_object_get(o, "errorDetail"), "message"));
    if (!msg || !*msg)
        msg = json_string_value(json_object_get(o, "error"));
    if (msg && !*msg)
        msg = NULL;
    return msg;
}

/* Trims trailing whitespace/newlines of a daemon message into a fresh string. */
static char *trimmed_dup(const char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

/* ------------------------------------------------------------------ pull */

struct layer {
    char *id;
    char *status;
    int line; /* tty: row in the current block, -1 when not drawn */
};

struct pull_progress {
    char *image;
    FILE *out;
    int tty;
    struct jsonl lines;
    struct layer *layers;
    size_t nlayers, cap;
    int nrows; /* tty: rows drawn in the current block of layer lines */
    int width; /* tty: terminal columns (0 = unknown) */
    char *error;
};

struct pull_progress *pull_progress_new(const char *image, FILE *out, int tty)
{
    struct pull_progress *p = xcalloc(1, sizeof *p);
    p->image = xstrdup(image ? image : "");
    p->out = out;
    p->tty = tty;
    struct winsize ws;
    if (tty && out && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0)
        p->width = ws.ws_col;
    return p;
}

static void human_size(struct strbuf *sb, long long n)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)(n < 0 ? 0 : n);
    size_t u = 0;
    while (v >= 1000.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000.0;
        u++;
    }
    strbuf_addf(sb, "%.3g%s", v, units[u]);
}

void pull_progress_format_line(struct strbuf *sb, const char *id, const char *status,
                               long long current, long long total)
{
    enum { WIDTH = 30 };
    if (id && *id)
        strbuf_addf(sb, "%s: ", id);
    strbuf_adds(sb, status ? status : "");
    if (total > 0) {
        long long cur = current < 0 ? 0 : current > total ? total : current;
        int fill = (int)(cur * WIDTH / total);
        strbuf_adds(sb, " [");
        for (int i = 0; i < WIDTH; i++)
            strbuf_adds(sb, i < fill ? "=" : i == fill ? ">" : " ");
        strbuf_adds(sb, "] ");
        human_size(sb, current);
        strbuf_adds(sb, "/");
        human_size(sb, total);
    } else if (current > 0) {
        strbuf_adds(sb, " ");
        human_size(sb, current);
    }
}

static struct layer *find_layer(struct pull_progress *p, const char *id)
{
    for (size_t i = 0; i < p->nlayers; i++)
        if (strcmp(p->layers[i].id, id) == 0)
            return &p->layers[i];
    if (p->nlayers == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->layers = xrealloc(p->layers, p->cap * sizeof *p->layers);
    }
    struct layer *l = &p->layers[p->nlayers++];
    l->id = xstrdup(id);
    l->status = NULL;
    l->line = -1;
    return l;
}

static void pull_draw_tty(struct pull_progress *p, struct layer *l, const char *text)
{
    if (l->line < 0) {
        l->line = p->nrows++;
        fprintf(p->out, "%s\n", text);
        return;
    }
    int up = p->nrows - l->line;
    /* up, clear the row, draw, and come back down to the row below the block */
    fprintf(p->out, "\033[%dA\r\033[2K%s\r\033[%dB", up, text, up);
}

static int pull_line(const char *line, size_t len, void *ctx)
{
    struct pull_progress *p = ctx;
    json_t *o = decode_line(line, len);
    if (!o)
        return 0;
    const char *msg = line_error(o);
    if (msg) {
        if (!p->error)
            p->error = trimmed_dup(msg);
        json_decref(o);
        return 0;
    }
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!status || !p->out) {
        json_decref(o);
        return 0;
    }
    if (id && *id) {
        struct layer *l = find_layer(p, id);
        /* "Retrying in 5 seconds" ticks every second: one kind of status */
        size_t kind = strncmp(status, "Retrying in ", 12) == 0 ? 12 : strlen(status);
        int changed = !l->status || strlen(l->status) != kind || strncmp(l->status, status, kind) != 0;
        if (p->tty) {
            json_t *pd = json_object_get(o, "progressDetail");
            long long cur = (long long)json_integer_value(json_object_get(pd, "current"));
            long long tot = (long long)json_integer_value(json_object_get(pd, "total"));
            struct strbuf sb = {0};
            pull_progress_format_line(&sb, id, status, cur, tot);
            if (p->width > 1 && sb.len >= (size_t)p->width) /* a wrapped row breaks the redraw */
                sb.buf[p->width - 1] = '\0';
            pull_draw_tty(p, l, sb.buf);
            strbuf_release(&sb);
        } else if (changed) {
            fprintf(p->out, "pull %s: %s: %s\n", p->image, id, status);
        }
        if (changed) {
            free(l->status);
            l->status = xstrndup(status, kind);
        }
    } else {
        if (p->tty)
            fprintf(p->out, "%s\n", status);
        else
            fprintf(p->out, "pull %s: %s\n", p->image, status);
        /* a line outside the block: later layer updates start a new block */
        p->nrows = 0;
        for (size_t i = 0; i < p->nlayers; i++)
            p->layers[i].line = -1;
    }
    fflush(p->out);
    json_decref(o);
    return 0;
}

void pull_progress_feed(struct pull_progress *p, const char *data, size_t len)
{
    jsonl_feed(&p->lines, data, len, pull_line, p);
}

int pull_progress_finish(struct pull_progress *p, char *err, size_t errlen)
{
    jsonl_finish(&p->lines, pull_line, p);
    if (p->error)
        return cc_errf(err, errlen, CC_ERR, "%s", p->error);
    return CC_OK;
}

void pull_progress_free(struct pull_progress *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nlayers; i++) {
        free(p->layers[i].id);
        free(p->layers[i].status);
    }
    free(p->layers);
    jsonl_release(&p->lines);
    free(p->image);
    free(p->error);
    free(p);
}

/* ------------------------------------------------------------------ build */

struct build_stream {
    FILE *out;
    struct jsonl lines;
    struct strbuf last_status; /* last status line printed (dedup of ticks) */
    char *image_id;
    char *error;
};

struct build_stream *build_stream_new(FILE *out)
{
    struct build_stream *b = xcalloc(1, sizeof *b);
    b->out = out;
    return b;
}

static int build_line(const char *line, size_t len, void *ctx)
{
    struct build_stream *b = ctx;
    json_t *o = decode_line(line, len);
    if (!o)
        return 0;
    const char *msg = line_error(o);
    if (msg) {
        if (!b->error)
            b->error = trimmed_dup(msg);
        json_decref(o);
        return 0;
    }
    const char *id = json_string_value(json_object_get(json_object_get(o, "aux"), "ID"));
    if (id && *id) {
        free(b->image_id);
        b->image_id = xstrdup(id);
    }
    const char *text = json_string_value(json_object_get(o, "stream"));
    if (text && b->out)
        fputs(text, b->out);
    const char *status = json_string_value(json_object_get(o, "status"));
    if (status && b->out) {
        const char *sid = json_string_value(json_object_get(o, "id"));
        struct strbuf sb = {0};
        if (sid && *sid)
            strbuf_addf(&sb, "%s: ", sid);
        strbuf_adds(&sb, status);
        if (!b->last_status.buf || strcmp(b->last_status.buf, sb.buf) != 0) {
            fprintf(b->out, "%s\n", sb.buf);
            strbuf_reset(&b->last_status);
            strbuf_adds(&b->last_status, sb.buf);
        }
        strbuf_release(&sb);
    }
    if (b->out)
        fflush(b->out);
    json_decref(o);
    return 0;
}

void build_stream_feed(struct build_stream *b, const char *data, size_t len)
{
    jsonl_feed(&b->lines, data, len, build_line, b);
}

int build_stream_finish(struct build_stream *b, char *err, size_t errlen)
{
    jsonl_finish(&b->lines, build_line, b);
    if (b->error)
        return cc_errf(err, errlen, CC_ERR, "%s", b->error);
    return CC_OK;
}

const char *build_stream_image_id(const struct build_stream *b)
{
    return b->image_id;
}

void build_stream_free(struct build_stream *b)
{
    if (!b)
        return;
    jsonl_release(&b->lines);
    strbuf_release(&b->last_status);
    free(b->image_id);
    free(b->error);
    free(b);
}

/* ------------------------------------------------------------------ logs */

void log_demux_init(struct log_demux *d, int tty)
{
    memset(d, 0, sizeof *d);
    d->raw = tty != 0;
}

int log_demux_feed(struct log_demux *d, const char *data, size_t len, log_demux_fn fn,
                   void *ctx, char *err, size_t errlen)
{
    if (d->stopped)
        return CC_OK;
    if (d->raw) {
        if (len && fn(1, data, len, ctx))
            d->stopped = 1;
        return CC_OK;
    }
    const char *p = data, *end = data + len;
    while (p < end) {
        if (d->remaining == 0) {
            /* collect a frame header (it may straddle chunks) */
            size_t need = sizeof d->hdr - d->hdr_have, have = (size_t)(end - p);
            size_t n = need < have ? need : have;
            memcpy(d->hdr + d->hdr_have, p, n);
            d->hdr_have += n;
            p += n;
            if (d->hdr_have < sizeof d->hdr)
                break;
            d->hdr_have = 0;
            if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
                return cc_errf(err, errlen, CC_EINVAL,
                               "log stream: malformed frame header (is the container a tty?)");
            d->stream = d->hdr[0] == 0 ? 1 : d->hdr[0];
            d->remaining = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 |
                           (size_t)d->hdr[6] << 8 | (size_t)d->hdr[7];
            continue; /* zero-length frames: nothing to hand over */
        }
        size_t have = (size_t)(end - p);
        size_t n = d->remaining < have ? d->remaining : have;
        if (d->stream == 3) {
            strbuf_add(&d->syserr, p, n);
        } else if (fn(d->stream, p, n, ctx)) {
            d->stopped = 1;
            return CC_OK;
        }
        d->remaining -= n;
        p += n;
    }
    return CC_OK;
}

int log_demux_finish(struct log_demux *d, char *err, size_t errlen)
{
    if (d->syserr.len) {
        char *m = trimmed_dup(d->syserr.buf);
        int rc = cc_errf(err, errlen, CC_ERR, "%s", m);
        free(m);
        return rc;
    }
    if (!d->raw && !d->stopped && (d->hdr_have || d->remaining))
        return cc_errf(err, errlen, CC_EINVAL, "log stream: truncated frame");
    return CC_OK;
}

void log_demux_release(struct log_demux *d)
{
    if (d)
        strbuf_release(&d->syserr);
}

/* ------------------------------------------------------------------ requests */

#define SOCK_PATH_MAX 107 /* sun_path on Linux, without the NUL */

int docker_endpoint_parse(const char *h, int tls_env, struct docker_endpoint *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!h || !*h)
        h = "unix:///var/run/docker.sock";
    if (strncmp(h, "unix://", 7) == 0) {
        const char *path = h + 7;
        if (!*path)
            return cc_errf(err, errlen, CC_EINVAL, "DOCKER_HOST '%s': missing socket path", h);
        if (strlen(path) > SOCK_PATH_MAX)
            return cc_errf(err, errlen, CC_EINVAL,
                           "DOCKER_HOST '%s': socket path longer than %d bytes", h, SOCK_PATH_MAX);
        out->sock = xstrdup(path);
        out->base = xstrdup("http://localhost");
        return CC_OK;
    }
    if (strncmp(h, "ssh://", 6) == 0)
        return cc_errf(err, errlen, CC_EINVAL,
                       "DOCKER_HOST '%s': ssh:// is not supported; forward the socket instead "
                       "(ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock HOST) and use "
                       "DOCKER_HOST=unix:///tmp/docker.sock", h);
    int https = strncmp(h, "https://", 8) == 0;
    const char *rest = strncmp(h, "tcp://", 6) == 0    ? h + 6
                       : strncmp(h, "http://", 7) == 0 ? h + 7
                       : https                         ? h + 8
                                                       : NULL;
    if (!rest) {
        if (strstr(h, "://"))
            return cc_errf(err, errlen, CC_EINVAL,
                           "DOCKER_HOST '%s': unsupported scheme (use unix:// or tcp://)", h);
        return cc_errf(err, errlen, CC_EINVAL,
                       "DOCKER_HOST '%s': missing scheme (use unix:///path/to/docker.sock or "
                       "tcp://host:port)", h);
    }
    size_t hl = strcspn(rest, "/?#");
    if (hl == 0)
        return cc_errf(err, errlen, CC_EINVAL, "DOCKER_HOST '%s': missing host", h);
    out->tls = https || tls_env;
    /* a port follows the last ':' outside IPv6 brackets */
    const char *hostend = rest + hl;
    const char *close = memchr(rest, ']', hl);
    const char *from = close ? close : rest;
    const char *colon = memrchr(from, ':', (size_t)(hostend - from));
    int has_port = colon != NULL;
    if (colon && colon + 1 == hostend)
        return cc_errf(err, errlen, CC_EINVAL, "DOCKER_HOST '%s': missing port after ':'", h);
    struct strbuf base = {0};
    strbuf_addf(&base, "%s://%.*s", out->tls ? "https" : "http", (int)hl, rest);
    if (!has_port)
        strbuf_addf(&base, ":%d", out->tls ? 2376 : 2375);
    const char *prefix = hostend;
    size_t pl = strcspn(prefix, "?#");
    while (pl && prefix[pl - 1] == '/')
        pl--;
    strbuf_add(&base, prefix, pl);
    out->base = strbuf_detach(&base);
    return CC_OK;
}

void docker_endpoint_release(struct docker_endpoint *e)
{
    if (!e)
        return;
    free(e->base);
    free(e->sock);
    e->base = e->sock = NULL;
}

int docker_image_ref_split(const char *image, char **repo, char **tag, char *err, size_t errlen)
{
    *repo = *tag = NULL;
    if (!image || !*image)
        return cc_errf(err, errlen, CC_EINVAL, "image reference is empty");
    for (const char *c = image; *c; c++)
        if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
            return cc_errf(err, errlen, CC_EINVAL, "image reference '%s': contains whitespace", image);
    const char *at = strchr(image, '@');
    size_t namelen = at ? (size_t)(at - image) : strlen(image);
    const char *slash = NULL;
    for (size_t i = 0; i < namelen; i++)
        if (image[i] == '/')
            slash = image + i;
    const char *colon = NULL;
    for (const char *c = slash ? slash : image; c < image + namelen; c++)
        if (*c == ':')
            colon = c;
    size_t repolen = colon ? (size_t)(colon - image) : namelen;
    if (repolen == 0 || image[repolen - 1] == '/' || image[0] == '/')
        return cc_errf(err, errlen, CC_EINVAL, "image reference '%s': missing repository", image);
    if (at) {
        const char *dig = at + 1;
        const char *dc = strchr(dig, ':');
        if (!dc || dc == dig || !dc[1] || strchr(dig, '@'))
            return cc_errf(err, errlen, CC_EINVAL, "image reference '%s': malformed digest", image);
        *tag = xstrdup(dig);
    } else if (colon) {
        if (!colon[1])
            return cc_errf(err, errlen, CC_EINVAL, "image reference '%s': empty tag", image);
        *tag = xstrdup(colon + 1);
    } else {
        *tag = xstrdup("latest");
    }
    *repo = xstrndup(image, repolen);
    return CC_OK;
}

char *docker_image_registry(const char *image)
{
    const char *slash = strchr(image, '/');
    if (slash) {
        size_t n = (size_t)(slash - image);
        if (memchr(image, '.', n) || memchr(image, ':', n) ||
            (n == 9 && strncmp(image, "localhost", 9) == 0))
            return xstrndup(image, n);
    }
    return xstrdup("docker.io");
}

/* Standard base64 of data into a malloc'd string; url != 0 gives base64url. */
static char *b64_encode(const void *data, size_t len, int url)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    if (url)
        for (char *c = out; *c; c++)
            *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/* Decodes standard base64 (padding optional); NULL when malformed. */
static char *b64_decode(const char *s, size_t *outlen)
{
    struct strbuf in = {0};
    for (const char *c = s; *c; c++)
        if (!isspace((unsigned char)*c))
            strbuf_add(&in, c, 1);
    while (in.len % 4)
        strbuf_adds(&in, "=");
    char *out = NULL;
    if (!in.len)
        goto out;
    out = xmalloc(in.len / 4 * 3 + 1);
    int n = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)in.buf, (int)in.len);
    if (n < 0) {
        free(out);
        out = NULL;
        goto out;
    }
    for (size_t i = in.len; i > 0 && in.buf[i - 1] == '='; i--)
        n--;
    out[n] = '\0';
    *outlen = (size_t)n;
out:
    strbuf_release(&in);
    return out;
}

/* The host part of a config.json "auths" key ("https://host/v1/" -> "host"). */
static int auth_key_matches(const char *key, const char *registry)
{
    const char *h = strstr(key, "://");
    h = h ? h + 3 : key;
    size_t n = strcspn(h, "/");
    if (strlen(registry) == n && strncmp(h, registry, n) == 0)
        return 1;
    if (strcmp(registry, "docker.io") == 0)
        return (n == 15 && strncmp(h, "index.docker.io", n) == 0) ||
               (n == 20 && strncmp(h, "registry-1.docker.io", n) == 0);
    return 0;
}

char *docker_registry_auth(const char *config_json, const char *registry)
{
    json_t *cfg = config_json ? json_loads(config_json, 0, NULL) : NULL;
    json_t *auth = json_object();
    const char *key;
    json_t *entry;
    json_object_foreach(json_object_get(cfg, "auths"), key, entry) {
        if (!auth_key_matches(key, registry))
            continue;
        const char *tok = json_string_value(json_object_get(entry, "identitytoken"));
        const char *user = json_string_value(json_object_get(entry, "username"));
        const char *pass = json_string_value(json_object_get(entry, "password"));
        const char *b64 = json_string_value(json_object_get(entry, "auth"));
        char *dec = NULL;
        size_t declen = 0;
        if (b64 && *b64 && (dec = b64_decode(b64, &declen)) && memchr(dec, ':', declen)) {
            char *c = strchr(dec, ':');
            *c = '\0';
            json_object_set_new(auth, "username", json_string(dec));
            json_object_set_new(auth, "password", json_string(c + 1));
        } else if (user && pass) {
            json_object_set_new(auth, "username", json_string(user));
            json_object_set_new(auth, "password", json_string(pass));
        }
        if (dec) {
            OPENSSL_cleanse(dec, declen);
            free(dec);
        }
        if (tok && *tok)
            json_object_set_new(auth, "identitytoken", json_string(tok));
        if (json_object_size(auth))
            json_object_set_new(auth, "serveraddress", json_string(key));
        break;
    }
    char *text = json_dumps(auth, JSON_COMPACT);
    char *out = b64_encode(text, strlen(text), 1);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    json_decref(auth);
    json_decref(cfg);
    return out;
}

static json_t *labels_or_empty(json_t *labels)
{
    return json_is_object(labels) ? json_deep_copy(labels) : json_object();
}

json_t *docker_network_create_body(const char *name, json_t *labels)
{
    json_t *o = json_object();
    json_object_set_new(o, "Name", json_string(name));
    json_object_set_new(o, "Driver", json_string("bridge"));
    json_object_set_new(o, "CheckDuplicate", json_true());
    json_object_set_new(o, "Labels", labels_or_empty(labels));
    return o;
}

json_t *docker_volume_create_body(const char *name, json_t *labels)
{
    json_t *o = json_object();
    json_object_set_new(o, "Name", json_string(name));
    json_object_set_new(o, "Labels", labels_or_empty(labels));
    return o;
}

void docker_urlencode(struct strbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            strbuf_add(sb, c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            strbuf_add(sb, e, 3);
        }
    }
}

char *docker_label_filters(const char *const *labels, size_t nlabels)
{
    json_t *o = json_object();
    if (nlabels) {
        json_t *a = json_array();
        for (size_t i = 0; i < nlabels; i++)
            json_array_append_new(a, json_string(labels[i]));
        json_object_set_new(o, "label", a);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *out = xstrdup(s ? s : "{}");
    free(s);
    return out;
}

static void parse_version(const char *v, long *maj, long *min)
{
    *maj = *min = 0;
    if (!v)
        return;
    if (*v == 'v' || *v == 'V')
        v++;
    char *end;
    long a = strtol(v, &end, 10);
    if (end == v || *end != '.')
        return;
    const char *m = end + 1;
    long b = strtol(m, &end, 10);
    if (end == m)
        return;
    *maj = a;
    *min = b;
}

int docker_version_cmp(const char *a, const char *b)
{
    long am, an, bm, bn;
    parse_version(a, &am, &an);
    parse_version(b, &bm, &bn);
    if (am != bm)
        return am < bm ? -1 : 1;
    if (an != bn)
        return an < bn ? -1 : 1;
    return 0;
}
