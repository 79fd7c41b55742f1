/* docker: Docker Engine API client over libcurl (see docker.h and
 * ../shared/reference/docker-api.md). One easy handle is reused for keep-alive and
 * curl_easy_reset between requests. The stream parsers live in docker_stream.c. */
#include "docker.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "docker_stream.h"

/* The newest API version whose behaviour cdcctl relies on, and the oldest it accepts
 * (Docker 19.03). The daemon's own version is never hard-coded: see docker_open. */
#define DOCKER_API_MAX "1.47"
#define DOCKER_API_MIN "1.40"

#define CONNECT_TIMEOUT_S 15L
#define CALL_TIMEOUT_S 120L
#define ARCHIVE_TIMEOUT_S 600L
#define PULL_STALL_S 600L /* a pull that sends nothing for this long is abandoned */

struct docker {
    CURL *curl;
    char *host;    /* as the user wrote it (DOCKER_HOST), for messages */
    char *base;    /* "http://localhost" or "https://host:port/prefix" */
    char *sock;    /* unix socket path, or NULL for tcp */
    int tls, tls_verify;
    char *ca, *cert, *key;
    int pinned;    /* DOCKER_API_VERSION was given */
    char version[16];
    char curl_err[CURL_ERROR_SIZE];
};

/* A request. path is appended to the base URL as-is (versioned by the caller). */
struct request {
    const char *method; /* GET HEAD POST PUT DELETE */
    const char *path;
    const char *content_type;
    const void *body;
    size_t body_len;
    const char *extra_header;
    long timeout_s;     /* 0 = none (streams) */
    long stall_s;       /* abort when nothing arrives for this long (0 = never) */
    /* streaming: 2xx bodies go here instead of the buffer; non-zero return stops */
    int (*sink)(const char *data, size_t len, void *ctx);
    void *sink_ctx;
};

struct response {
    CURL *curl;
    long status;
    struct strbuf body;
    char api_version[16];
    int (*sink)(const char *data, size_t len, void *ctx);
    void *sink_ctx;
    int stopped; /* the sink asked to stop */
    const char *upload;
    size_t upload_len, upload_off;
};

/* ------------------------------------------------------------------ callbacks */

static size_t header_cb(char *buf, size_t size, size_t n, void *ctx)
{
    struct response *r = ctx;
    size_t len = size * n;
    if (len > 12 && strncasecmp(buf, "Api-Version:", 12) == 0) {
        const char *v = buf + 12;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strcspn(v, " \t\r\n");
        if (vl < sizeof r->api_version) {
            memcpy(r->api_version, v, vl);
            r->api_version[vl] = '\0';
        }
    }
    return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *ctx)
{
    struct response *r = ctx;
    size_t len = size * n;
    long code = 0;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
    if (r->sink && code >= 200 && code < 300) {
        if (r->sink(data, len, r->sink_ctx)) {
            r->stopped = 1;
            return 0; /* aborts the transfer */
        }
        return len;
    }
    if (r->body.len < (8u << 20) || !r->sink) /* error bodies are short; cap anyway */
        strbuf_add(&r->body, data, len);
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ctx)
{
    struct response *r = ctx;
    size_t want = size * n, left = r->upload_len - r->upload_off;
    size_t k = want < left ? want : left;
    memcpy(buf, r->upload + r->upload_off, k);
    r->upload_off += k;
    return k;
}

/* ------------------------------------------------------------------ errors */

static int is_tls_error(CURLcode c)
{
    return c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PEER_FAILED_VERIFICATION ||
           c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CIPHER || c == CURLE_SSL_CACERT_BADFILE ||
           c == CURLE_SSL_ENGINE_NOTFOUND || c == CURLE_SSL_ENGINE_SETFAILED ||
           c == CURLE_SSL_ISSUER_ERROR || c == CURLE_SSL_CRL_BADFILE;
}

/* One sentence for a transport failure, naming the endpoint and the likely fix. */
static int transport_error(struct docker *d, const char *what, CURLcode c, char *err, size_t errlen)
{
    long oserr = 0;
    curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &oserr);
    /* curl's text without its ", errno N" tail: the sentence is for people */
    char *tail = strstr(d->curl_err, ", errno ");
    if (tail)
        *tail = '\0';
    const char *detail = d->curl_err[0] ? d->curl_err : curl_easy_strerror(c);
    if (c == CURLE_COULDNT_CONNECT) {
        if (oserr == EACCES || oserr == EPERM)
            return cc_errf(err, errlen, CC_ERR,
                           "cannot reach the Docker daemon at %s: permission denied "
                           "(add your user to the docker group, or run as root)", d->host);
        if (oserr == ENOENT)
            return cc_errf(err, errlen, CC_ERR,
                           "cannot reach the Docker daemon at %s: the socket does not exist "
                           "(is dockerd running? is DOCKER_HOST right?)", d->host);
        if (oserr == ECONNREFUSED)
            return cc_errf(err, errlen, CC_ERR,
                           "cannot reach the Docker daemon at %s: connection refused (%s)", d->host,
                           d->sock ? "is dockerd running?" : "is dockerd listening there? check DOCKER_HOST");
        return cc_errf(err, errlen, CC_ERR, "cannot reach the Docker daemon at %s: %s (is dockerd running?)",
                       d->host, oserr ? strerror((int)oserr) : detail);
    }
    if (c == CURLE_COULDNT_RESOLVE_HOST)
        return cc_errf(err, errlen, CC_ERR,
                       "cannot reach the Docker daemon at %s: unknown host (check DOCKER_HOST)", d->host);
    if (is_tls_error(c))
        return cc_errf(err, errlen, CC_ERR,
                       "cannot reach the Docker daemon at %s: TLS failed: %s "
                       "(check DOCKER_CERT_PATH and DOCKER_TLS_VERIFY)", d->host, detail);
    if (c == CURLE_OPERATION_TIMEDOUT) {
        double connect = 0;
        curl_easy_getinfo(d->curl, CURLINFO_CONNECT_TIME, &connect);
        if (connect <= 0)
            return cc_errf(err, errlen, CC_ETIMEOUT,
                           "cannot reach the Docker daemon at %s: connection timed out", d->host);
        return cc_errf(err, errlen, CC_ETIMEOUT, "docker: %s: the daemon did not answer in time (%s)",
                       what, detail);
    }
    if (d->tls && (c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR) && strstr(detail, "SSL"))
        return cc_errf(err, errlen, CC_ERR,
                       "cannot reach the Docker daemon at %s: TLS failed: %s (check the client "
                       "certificate in DOCKER_CERT_PATH)", d->host, detail);
    /* while connecting (ping), every failure means the daemon cannot be reached */
    int opening = strcmp(what, "ping") == 0 || strcmp(what, "version") == 0;
    const char *hint = !d->tls && !d->sock ? " (is it a TLS port? set DOCKER_TLS_VERIFY=1)" : "";
    if (c == CURLE_GOT_NOTHING || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
        c == CURLE_PARTIAL_FILE) {
        if (opening)
            return cc_errf(err, errlen, CC_ERR,
                           "cannot reach the Docker daemon at %s: it closed the connection: %s%s",
                           d->host, detail, hint);
        return cc_errf(err, errlen, CC_ERR, "docker: %s: the daemon at %s closed the connection: %s",
                       what, d->host, detail);
    }
    if (opening)
        return cc_errf(err, errlen, CC_ERR, "cannot reach the Docker daemon at %s: %s", d->host, detail);
    return cc_errf(err, errlen, CC_ERR, "docker: %s: %s", what, detail);
}

/* The daemon's {"message"} (or the raw body) for a non-2xx answer. */
static int http_error(struct docker *d, const char *what, long status, const struct strbuf *body,
                      char *err, size_t errlen)
{
    char *msg = NULL;
    json_t *j = body->len ? json_loadb(body->buf, body->len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    if (m && *m) {
        msg = xstrdup(m);
    } else if (body->len) {
        size_t n = strcspn(body->buf, "\r\n");
        msg = xstrndup(body->buf, n > 300 ? 300 : n);
    }
    json_decref(j);
    if (msg) {
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == ' ' || msg[n - 1] == '\n' || msg[n - 1] == '.'))
            msg[--n] = '\0';
    }
    int rc = status == 404 ? CC_ENOTFOUND : CC_ERR;
    int version_problem = status == 400 && msg &&
                          (strstr(msg, "is too old") || strstr(msg, "is too new"));
    if (version_problem && d->pinned)
        cc_errf(err, errlen, rc, "docker: %s: %s (DOCKER_API_VERSION=%s pins the API version; "
                "unset it to negotiate)", what, msg, d->version);
    else if (version_problem)
        cc_errf(err, errlen, rc, "docker: %s: the daemon refused API version %s: %s", what,
                d->version, msg);
    else if (msg && *msg)
        cc_errf(err, errlen, rc, "docker: %s: %s", what, msg);
    else
        cc_errf(err, errlen, rc, "docker: %s: HTTP %ld from the daemon", what, status);
    free(msg);
    return rc;
}

/* ------------------------------------------------------------------ transport */

/* Performs a request; fills *resp (caller releases resp->body). Returns CC_OK when
 * a response arrived (any status), else a transport error. */
static int perform(struct docker *d, const struct request *rq, struct response *r,
                   const char *what, char *err, size_t errlen)
{
    CURL *c = d->curl;
    struct curl_slist *hdrs = NULL;
    struct strbuf url = {0}, ct = {0};
    r->curl = c;
    r->sink = rq->sink;
    r->sink_ctx = rq->sink_ctx;

    curl_easy_reset(c);
    d->curl_err[0] = '\0';
    strbuf_addf(&url, "%s%s", d->base, rq->path);
    curl_easy_setopt(c, CURLOPT_URL, url.buf);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the daemon is never behind a proxy */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, rq->timeout_s);
    if (rq->stall_s) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, rq->stall_s);
    }
    if (d->sock)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
    if (d->tls) {
        if (d->ca)
            curl_easy_setopt(c, CURLOPT_CAINFO, d->ca);
        if (d->cert)
            curl_easy_setopt(c, CURLOPT_SSLCERT, d->cert);
        if (d->key)
            curl_easy_setopt(c, CURLOPT_SSLKEY, d->key);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, d->tls_verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, d->tls_verify ? 2L : 0L);
    }
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);

    hdrs = curl_slist_append(hdrs, "Expect:");
    if (rq->content_type) {
        strbuf_addf(&ct, "Content-Type: %s", rq->content_type);
        hdrs = curl_slist_append(hdrs, ct.buf);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:"); /* no form-urlencoded default */
    }
    if (rq->extra_header)
        hdrs = curl_slist_append(hdrs, rq->extra_header);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "POST") == 0) {
        /* always a known length: the daemon refuses a chunked start */
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else if (strcmp(rq->method, "PUT") == 0) {
        r->upload = rq->body;
        r->upload_len = rq->body ? rq->body_len : 0;
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_len);
    } else if (strcmp(rq->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }

    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    int rc = CC_OK;
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && r->stopped))
        rc = transport_error(d, what, cc, err, errlen);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    strbuf_release(&url);
    strbuf_release(&ct);
    return rc;
}

static int is_success(long status)
{
    return (status >= 200 && status < 300) || status == 304;
}

/* "/vX.Y" + path */
static char *versioned(const struct docker *d, const char *path)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb, "/v%s%s", d->version, path);
    return strbuf_detach(&sb);
}

/* A JSON request against a versioned path; see docker_call. */
static int json_request(struct docker *d, const char *what, const char *method, const char *path,
                        json_t *body, long timeout_s, long *status, json_t **resp, char *err,
                        size_t errlen)
{
    struct response r = {0};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *vpath = versioned(d, path);
    struct request rq = {
        .method = method,
        .path = vpath,
        .content_type = text ? "application/json" : NULL,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .timeout_s = timeout_s,
    };
    if (resp)
        *resp = NULL;
    int rc = perform(d, &rq, &r, what, err, errlen);
    if (status)
        *status = r.status;
    if (rc != CC_OK)
        goto out;
    if (!is_success(r.status)) {
        rc = http_error(d, what, r.status, &r.body, err, errlen);
        goto out;
    }
    if (resp && r.body.len) {
        json_error_t je;
        *resp = json_loadb(r.body.buf, r.body.len, 0, &je);
        if (!*resp)
            rc = cc_errf(err, errlen, CC_ERR, "docker: %s: invalid JSON from the daemon: %s", what,
                         je.text);
    }
out:
    free(text);
    free(vpath);
    strbuf_release(&r.body);
    return rc;
}

int docker_call(struct docker *d, const char *method, const char *path, json_t *body,
                long *status, json_t **resp, char *err, size_t errlen)
{
    struct strbuf what = {0};
    strbuf_addf(&what, "%s %.*s", method, (int)strcspn(path, "?"), path);
    int rc = json_request(d, what.buf, method, path, body, CALL_TIMEOUT_S, status, resp, err, errlen);
    strbuf_release(&what);
    return rc;
}

/* A request against a versioned path whose 2xx body goes to rq->sink (if any). */
static int stream_request(struct docker *d, const char *what, struct request *rq, char *err,
                          size_t errlen)
{
    struct response r = {0};
    char *vpath = versioned(d, rq->path);
    const char *orig = rq->path;
    rq->path = vpath;
    int rc = perform(d, rq, &r, what, err, errlen);
    rq->path = orig;
    if (rc == CC_OK && !is_success(r.status))
        rc = http_error(d, what, r.status, &r.body, err, errlen);
    free(vpath);
    strbuf_release(&r.body);
    return rc;
}

/* ------------------------------------------------------------------ open */

static int nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

static char *cert_file(const char *dir, const char *name)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb, "%s/%s", dir, name);
    if (access(sb.buf, R_OK) != 0) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

static int parse_host(struct docker *d, char *err, size_t errlen)
{
    const char *h = getenv("DOCKER_HOST");
    if (!h || !*h)
        h = "unix:///var/run/docker.sock";
    d->host = xstrdup(h);
    struct docker_endpoint ep = {0};
    int rc = docker_endpoint_parse(h, nonempty_env("DOCKER_TLS_VERIFY") || nonempty_env("DOCKER_TLS"),
                                   &ep, err, errlen);
    if (rc != CC_OK)
        return rc;
    d->base = ep.base;
    d->sock = ep.sock;
    d->tls = ep.tls;
    d->tls_verify = nonempty_env("DOCKER_TLS_VERIFY");
    if (d->tls) {
        const char *dir = getenv("DOCKER_CERT_PATH");
        struct strbuf def = {0};
        if (!dir || !*dir) {
            const char *cfg = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
            if (cfg && *cfg)
                strbuf_adds(&def, cfg);
            else
                strbuf_addf(&def, "%s/.docker", home ? home : "");
            dir = def.buf;
        }
        d->ca = cert_file(dir, "ca.pem");
        d->cert = cert_file(dir, "cert.pem");
        d->key = cert_file(dir, "key.pem");
        strbuf_release(&def);
    }
    return CC_OK;
}

/* A "1.NN" version string, normalised; CC_EINVAL otherwise. */
static int set_version(struct docker *d, const char *v, const char *origin, char *err, size_t errlen)
{
    if (*v == 'v' || *v == 'V')
        v++;
    size_t dig1 = strspn(v, "0123456789");
    size_t dig2 = v[dig1] == '.' ? strspn(v + dig1 + 1, "0123456789") : 0;
    if (!dig1 || !dig2 || v[dig1 + 1 + dig2] != '\0' || strlen(v) >= sizeof d->version)
        return cc_errf(err, errlen, CC_EINVAL, "%s '%s': not an API version like 1.41", origin, v);
    snprintf(d->version, sizeof d->version, "%s", v);
    return CC_OK;
}

/* Pings /_ping (no version prefix) and settles the API version. */
static int negotiate(struct docker *d, char *err, size_t errlen)
{
    struct response r = {0};
    struct request rq = {.method = "HEAD", .path = "/_ping", .timeout_s = 30};
    int rc = perform(d, &rq, &r, "ping", err, errlen);
    if (rc == CC_OK && r.status != 200) {
        strbuf_release(&r.body);
        memset(&r, 0, sizeof r);
        rq.method = "GET";
        rc = perform(d, &rq, &r, "ping", err, errlen);
    }
    if (rc != CC_OK)
        goto out;
    if (r.status != 200) {
        rc = http_error(d, "ping", r.status, &r.body, err, errlen);
        if (rc == CC_ENOTFOUND)
            rc = cc_errf(err, errlen, CC_ERR, "%s is not a Docker daemon (GET /_ping: 404)", d->host);
        goto out;
    }
    if (d->pinned)
        goto out;

    char daemon_max[16] = "", daemon_min[16] = "";
    snprintf(daemon_max, sizeof daemon_max, "%s", r.api_version);
    if (!daemon_max[0]) {
        json_t *v = NULL;
        struct request vr = {.method = "GET", .path = "/version", .timeout_s = 30};
        struct response vresp = {0};
        rc = perform(d, &vr, &vresp, "version", err, errlen);
        if (rc == CC_OK && vresp.status == 200 && vresp.body.len)
            v = json_loadb(vresp.body.buf, vresp.body.len, 0, NULL);
        strbuf_release(&vresp.body);
        if (rc != CC_OK)
            goto out;
        const char *mx = json_string_value(json_object_get(v, "ApiVersion"));
        const char *mn = json_string_value(json_object_get(v, "MinAPIVersion"));
        snprintf(daemon_max, sizeof daemon_max, "%s", mx ? mx : "");
        snprintf(daemon_min, sizeof daemon_min, "%s", mn ? mn : "");
        json_decref(v);
        if (!daemon_max[0]) {
            rc = cc_errf(err, errlen, CC_ERR,
                         "docker: the daemon at %s did not say which API version it speaks "
                         "(set DOCKER_API_VERSION)", d->host);
            goto out;
        }
    }
    const char *use = docker_version_cmp(daemon_max, DOCKER_API_MAX) < 0 ? daemon_max : DOCKER_API_MAX;
    if ((rc = set_version(d, use, "the daemon's API version", err, errlen)) != CC_OK)
        goto out;
    if (daemon_min[0] && docker_version_cmp(d->version, daemon_min) < 0) {
        rc = cc_errf(err, errlen, CC_ERR,
                     "docker: the daemon at %s needs API %s or newer; cdcctl speaks up to %s",
                     d->host, daemon_min, DOCKER_API_MAX);
        goto out;
    }
    if (docker_version_cmp(d->version, DOCKER_API_MIN) < 0)
        rc = cc_errf(err, errlen, CC_ERR,
                     "docker: the daemon at %s speaks API %s; cdcctl needs %s or newer "
                     "(Docker 19.03+)", d->host, d->version, DOCKER_API_MIN);
out:
    strbuf_release(&r.body);
    return rc;
}

int docker_open(struct docker **out, char *err, size_t errlen)
{
    *out = NULL;
    struct docker *d = xcalloc(1, sizeof *d);
    int rc = parse_host(d, err, errlen);
    if (rc != CC_OK)
        goto fail;
    const char *pin = getenv("DOCKER_API_VERSION");
    if (pin && *pin) {
        if ((rc = set_version(d, pin, "DOCKER_API_VERSION", err, errlen)) != CC_OK)
            goto fail;
        d->pinned = 1;
    }
    d->curl = curl_easy_init();
    if (!d->curl) {
        rc = cc_errf(err, errlen, CC_ERR, "docker: cannot initialise libcurl");
        goto fail;
    }
    if ((rc = negotiate(d, err, errlen)) != CC_OK)
        goto fail;
    *out = d;
    return CC_OK;
fail:
    docker_close(d);
    return rc;
}

void docker_close(struct docker *d)
{
    if (!d)
        return;
    if (d->curl)
        curl_easy_cleanup(d->curl);
    free(d->host);
    free(d->base);
    free(d->sock);
    free(d->ca);
    free(d->cert);
    free(d->key);
    free(d);
}

const char *docker_api_version(const struct docker *d)
{
    return d->version;
}

const char *docker_host(const struct docker *d)
{
    return d->host;
}

/* ------------------------------------------------------------------ helpers */

/* Appends a path segment, escaping what is not safe in a URL path. keep_slash keeps
 * '/', ':' and '@' (image references). */
static void add_segment(struct strbuf *sb, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~' ||
            (keep_slash && (*c == '/' || *c == ':' || *c == '@'))) {
            strbuf_add(sb, c, 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            strbuf_add(sb, e, 3);
        }
    }
}

/* A short form of an id or name for messages (64-hex ids become 12). */
static const char *short_id(const char *id, char buf[16])
{
    size_t n = strlen(id);
    if (n == 64 && strspn(id, "0123456789abcdef") == 64) {
        memcpy(buf, id, 12);
        buf[12] = '\0';
        return buf;
    }
    return id;
}

/* Formats the `what` of a message into a strbuf. */
static char *whatf(const char *fmt, const char *arg)
{
    struct strbuf sb = {0};
    char sid[16];
    strbuf_addf(&sb, fmt, short_id(arg, sid));
    return strbuf_detach(&sb);
}

/* method on "/<kind>/<id><suffix>" with optional JSON body. */
static int simple_call(struct docker *d, const char *what_fmt, const char *method, const char *kind,
                       const char *id, const char *suffix, json_t *body, long timeout_s,
                       long *status, json_t **resp, char *err, size_t errlen)
{
    struct strbuf path = {0};
    strbuf_addf(&path, "/%s/", kind);
    add_segment(&path, id, strcmp(kind, "images") == 0);
    strbuf_adds(&path, suffix ? suffix : "");
    char *what = whatf(what_fmt, id);
    int rc = json_request(d, what, method, path.buf, body, timeout_s, status, resp, err, errlen);
    free(what);
    strbuf_release(&path);
    return rc;
}

/* GET a list with label filters; `key` names the array inside an object answer
 * (volumes), NULL when the answer is the array itself. */
static int list_call(struct docker *d, const char *what, const char *path, const char *key,
                     const char *const *labels, size_t nlabels, json_t **out, char *err,
                     size_t errlen)
{
    struct strbuf p = {0};
    strbuf_adds(&p, path);
    if (nlabels) {
        char *f = docker_label_filters(labels, nlabels);
        strbuf_adds(&p, strchr(path, '?') ? "&filters=" : "?filters=");
        docker_urlencode(&p, f);
        free(f);
    }
    json_t *resp = NULL;
    int rc = json_request(d, what, "GET", p.buf, NULL, CALL_TIMEOUT_S, NULL, &resp, err, errlen);
    strbuf_release(&p);
    *out = NULL;
    if (rc != CC_OK)
        return rc;
    json_t *list = key ? json_object_get(resp, key) : resp;
    if (key && json_is_object(resp) && (!list || json_is_null(list)))
        *out = json_array(); /* {"Volumes": null} */
    else if (json_is_array(list))
        *out = json_incref(list);
    else
        rc = cc_errf(err, errlen, CC_ERR, "docker: %s: the daemon did not send a list", what);
    json_decref(resp);
    return rc;
}

/* ------------------------------------------------------------------ images */

int docker_image_inspect(struct docker *d, const char *image, json_t **out, char *err, size_t errlen)
{
    return simple_call(d, "inspect image %s", "GET", "images", image, "/json", NULL, CALL_TIMEOUT_S,
                       NULL, out, err, errlen);
}

/* Frees a string that may hold credentials, zeroing it first. */
static void wipe_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static int pull_sink(const char *data, size_t len, void *ctx)
{
    pull_progress_feed(ctx, data, len);
    return 0;
}

/* The Docker client config (for registry credentials); NULL when absent. */
static char *read_docker_config(void)
{
    struct strbuf path = {0};
    const char *cfg = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
    if (cfg && *cfg)
        strbuf_addf(&path, "%s/config.json", cfg);
    else if (home && *home)
        strbuf_addf(&path, "%s/.docker/config.json", home);
    char *text = NULL;
    size_t len = 0;
    char ignored[ERRLEN];
    if (!path.len || read_file(path.buf, &text, &len, ignored, sizeof ignored) != CC_OK)
        text = NULL;
    strbuf_release(&path);
    return text;
}

int docker_image_pull(struct docker *d, const char *image, FILE *progress, char *err, size_t errlen)
{
    char *repo = NULL, *tag = NULL, *config = NULL, *auth = NULL, *registry = NULL;
    struct strbuf path = {0}, hdr = {0}, what = {0};
    struct pull_progress *pp = NULL;
    strbuf_addf(&what, "pull %s", image ? image : "");
    int rc = docker_image_ref_split(image, &repo, &tag, err, errlen);
    if (rc != CC_OK)
        goto out;
    strbuf_adds(&path, "/images/create?fromImage=");
    docker_urlencode(&path, repo);
    strbuf_adds(&path, "&tag=");
    docker_urlencode(&path, tag);
    registry = docker_image_registry(repo);
    config = read_docker_config();
    auth = docker_registry_auth(config, registry);
    strbuf_addf(&hdr, "X-Registry-Auth: %s", auth);
    int tty = progress && isatty(fileno(progress));
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        tty = 0;
    pp = pull_progress_new(image, progress, tty);
    struct request rq = {
        .method = "POST",
        .path = path.buf,
        .extra_header = hdr.buf,
        .stall_s = PULL_STALL_S,
        .sink = pull_sink,
        .sink_ctx = pp,
    };
    if ((rc = stream_request(d, what.buf, &rq, err, errlen)) != CC_OK)
        goto out;
    char msg[ERRLEN];
    if (pull_progress_finish(pp, msg, sizeof msg) != CC_OK)
        rc = cc_errf(err, errlen, CC_ERR, "docker: %s: %s", what.buf, msg);
out:
    pull_progress_free(pp);
    wipe_free(strbuf_detach(&hdr)); /* credentials */
    wipe_free(config);
    wipe_free(auth);
    strbuf_release(&path);
    strbuf_release(&what);
    free(repo);
    free(tag);
    free(registry);
    return rc;
}

static int build_sink(const char *data, size_t len, void *ctx)
{
    build_stream_feed(ctx, data, len);
    return 0;
}

int docker_image_build(struct docker *d, const char *tag, const void *context_tar, size_t len,
                       const char *dockerfile, json_t *labels, FILE *progress,
                       char *err, size_t errlen)
{
    struct strbuf path = {0}, what = {0};
    strbuf_addf(&what, "build %s", tag);
    strbuf_adds(&path, "/build?t=");
    docker_urlencode(&path, tag);
    if (dockerfile && *dockerfile) {
        strbuf_adds(&path, "&dockerfile=");
        docker_urlencode(&path, dockerfile);
    }
    if (json_is_object(labels) && json_object_size(labels)) {
        char *l = json_dumps(labels, JSON_COMPACT);
        strbuf_adds(&path, "&labels=");
        docker_urlencode(&path, l);
        free(l);
    }
    strbuf_adds(&path, "&rm=1&forcerm=1");
    struct build_stream *bs = build_stream_new(progress);
    struct request rq = {
        .method = "POST",
        .path = path.buf,
        .content_type = "application/x-tar",
        .body = context_tar,
        .body_len = len,
        .sink = build_sink,
        .sink_ctx = bs,
    };
    int rc = stream_request(d, what.buf, &rq, err, errlen);
    if (rc == CC_OK) {
        char msg[ERRLEN];
        if (build_stream_finish(bs, msg, sizeof msg) != CC_OK)
            rc = cc_errf(err, errlen, CC_ERR, "docker: %s: %s", what.buf, msg);
    }
    build_stream_free(bs);
    strbuf_release(&path);
    strbuf_release(&what);
    return rc;
}

/* ------------------------------------------------------------------ containers */

int docker_container_create(struct docker *d, const char *name, json_t *body, char id_out[65],
                            char *err, size_t errlen)
{
    struct strbuf path = {0};
    strbuf_adds(&path, "/containers/create");
    if (name && *name) {
        strbuf_adds(&path, "?name=");
        docker_urlencode(&path, name);
    }
    char *what = whatf("create container %s", name ? name : "");
    json_t *resp = NULL;
    int rc = json_request(d, what, "POST", path.buf, body, CALL_TIMEOUT_S, NULL, &resp, err, errlen);
    if (rc == CC_OK) {
        const char *id = json_string_value(json_object_get(resp, "Id"));
        if (!id || strlen(id) > 64)
            rc = cc_errf(err, errlen, CC_ERR, "docker: %s: the daemon sent no container id", what);
        else if (id_out)
            snprintf(id_out, 65, "%s", id);
    }
    json_decref(resp);
    free(what);
    strbuf_release(&path);
    return rc;
}

int docker_container_start(struct docker *d, const char *id, char *err, size_t errlen)
{
    return simple_call(d, "start container %s", "POST", "containers", id, "/start", NULL,
                       CALL_TIMEOUT_S, NULL, NULL, err, errlen);
}

int docker_container_stop(struct docker *d, const char *id, int timeout_s, char *err, size_t errlen)
{
    char suffix[32] = "/stop";
    if (timeout_s >= 0)
        snprintf(suffix, sizeof suffix, "/stop?t=%d", timeout_s);
    /* the daemon kills after the stop timeout: no client deadline for the default */
    long deadline = timeout_s >= 0 ? timeout_s + CALL_TIMEOUT_S : 0;
    return simple_call(d, "stop container %s", "POST", "containers", id, suffix, NULL, deadline,
                       NULL, NULL, err, errlen);
}

int docker_container_remove(struct docker *d, const char *id, int force, int volumes,
                            char *err, size_t errlen)
{
    char suffix[32];
    snprintf(suffix, sizeof suffix, "?force=%d&v=%d", force ? 1 : 0, volumes ? 1 : 0);
    return simple_call(d, "remove container %s", "DELETE", "containers", id, suffix, NULL,
                       CALL_TIMEOUT_S, NULL, NULL, err, errlen);
}

int docker_container_rename(struct docker *d, const char *id, const char *new_name,
                            char *err, size_t errlen)
{
    struct strbuf suffix = {0};
    strbuf_adds(&suffix, "/rename?name=");
    docker_urlencode(&suffix, new_name);
    int rc = simple_call(d, "rename container %s", "POST", "containers", id, suffix.buf, NULL,
                         CALL_TIMEOUT_S, NULL, NULL, err, errlen);
    strbuf_release(&suffix);
    return rc;
}

int docker_container_inspect(struct docker *d, const char *id, json_t **out, char *err, size_t errlen)
{
    return simple_call(d, "inspect container %s", "GET", "containers", id, "/json", NULL,
                       CALL_TIMEOUT_S, NULL, out, err, errlen);
}

int docker_container_list(struct docker *d, const char *const *labels, size_t nlabels,
                          json_t **out, char *err, size_t errlen)
{
    return list_call(d, "list containers", "/containers/json?all=1", NULL, labels, nlabels, out, err,
                     errlen);
}

int docker_container_put_archive(struct docker *d, const char *id, const char *path,
                                 const void *tar, size_t len, char *err, size_t errlen)
{
    struct strbuf p = {0}, what = {0};
    char sid[16];
    strbuf_adds(&p, "/containers/");
    add_segment(&p, id, 0);
    strbuf_adds(&p, "/archive?path=");
    docker_urlencode(&p, path);
    strbuf_addf(&what, "upload files to %s:%s", short_id(id, sid), path);
    struct request rq = {
        .method = "PUT",
        .path = p.buf,
        .content_type = "application/x-tar",
        .body = tar,
        .body_len = len,
        .timeout_s = ARCHIVE_TIMEOUT_S,
    };
    int rc = stream_request(d, what.buf, &rq, err, errlen);
    strbuf_release(&p);
    strbuf_release(&what);
    return rc;
}

struct logs_ctx {
    struct log_demux demux;
    docker_log_cb cb;
    void *ctx;
    int rc;
    char err[ERRLEN];
};

static int logs_sink(const char *data, size_t len, void *ctx)
{
    struct logs_ctx *l = ctx;
    l->rc = log_demux_feed(&l->demux, data, len, l->cb, l->ctx, l->err, sizeof l->err);
    return l->rc != CC_OK || l->demux.stopped;
}

int docker_container_logs(struct docker *d, const char *id, int tail, int follow, int tty,
                          docker_log_cb cb, void *ctx, char *err, size_t errlen)
{
    struct strbuf path = {0};
    char sid[16];
    struct strbuf what = {0};
    strbuf_addf(&what, "logs of %s", short_id(id, sid));
    strbuf_adds(&path, "/containers/");
    add_segment(&path, id, 0);
    strbuf_addf(&path, "/logs?stdout=1&stderr=1&follow=%d", follow ? 1 : 0);
    if (tail >= 0)
        strbuf_addf(&path, "&tail=%d", tail);
    else
        strbuf_adds(&path, "&tail=all");
    struct logs_ctx l = {.cb = cb, .ctx = ctx};
    log_demux_init(&l.demux, tty);
    struct request rq = {
        .method = "GET",
        .path = path.buf,
        .timeout_s = follow ? 0 : ARCHIVE_TIMEOUT_S,
        .sink = logs_sink,
        .sink_ctx = &l,
    };
    int rc = stream_request(d, what.buf, &rq, err, errlen);
    if (rc == CC_OK && l.rc != CC_OK)
        rc = cc_errf(err, errlen, l.rc, "docker: %s: %s", what.buf, l.err);
    else if (rc == CC_OK && log_demux_finish(&l.demux, l.err, sizeof l.err) != CC_OK)
        rc = cc_errf(err, errlen, CC_ERR, "docker: %s: %s", what.buf, l.err);
    log_demux_release(&l.demux);
    strbuf_release(&path);
    strbuf_release(&what);
    return rc;
}

/* ------------------------------------------------------------------ networks, volumes */

int docker_network_create(struct docker *d, const char *name, json_t *labels, char id_out[65],
                          char *err, size_t errlen)
{
    json_t *body = docker_network_create_body(name, labels), *resp = NULL;
    char *what = whatf("create network %s", name);
    long status = 0;
    const char *id = NULL;
    int rc = json_request(d, what, "POST", "/networks/create", body, CALL_TIMEOUT_S, &status, &resp,
                          err, errlen);
    if (rc == CC_OK) {
        id = json_string_value(json_object_get(resp, "Id"));
    } else if (status == 409) {
        /* already there: fine; look it up for its id */
        rc = CC_OK;
        if (id_out) {
            rc = simple_call(d, "inspect network %s", "GET", "networks", name, NULL, NULL,
                             CALL_TIMEOUT_S, NULL, &resp, err, errlen);
            const char *n = json_string_value(json_object_get(resp, "Name"));
            if (rc == CC_OK && n && strcmp(n, name) != 0)
                rc = cc_errf(err, errlen, CC_ERR, "docker: %s: the name is taken by network %s",
                             what, n);
            id = json_string_value(json_object_get(resp, "Id"));
        }
    }
    if (rc == CC_OK && id_out)
        snprintf(id_out, 65, "%s", id ? id : "");
    json_decref(resp);
    json_decref(body);
    free(what);
    return rc;
}

int docker_network_remove(struct docker *d, const char *name_or_id, char *err, size_t errlen)
{
    return simple_call(d, "remove network %s", "DELETE", "networks", name_or_id, NULL, NULL,
                       CALL_TIMEOUT_S, NULL, NULL, err, errlen);
}

int docker_network_list(struct docker *d, const char *const *labels, size_t nlabels,
                        json_t **out, char *err, size_t errlen)
{
    return list_call(d, "list networks", "/networks", NULL, labels, nlabels, out, err, errlen);
}

int docker_volume_create(struct docker *d, const char *name, json_t *labels, char *err, size_t errlen)
{
    json_t *body = docker_volume_create_body(name, labels);
    char *what = whatf("create volume %s", name);
    int rc = json_request(d, what, "POST", "/volumes/create", body, CALL_TIMEOUT_S, NULL, NULL, err,
                          errlen);
    json_decref(body);
    free(what);
    return rc;
}

int docker_volume_remove(struct docker *d, const char *name, char *err, size_t errlen)
{
    return simple_call(d, "remove volume %s", "DELETE", "volumes", name, NULL, NULL, CALL_TIMEOUT_S,
                       NULL, NULL, err, errlen);
}

int docker_volume_list(struct docker *d, const char *const *labels, size_t nlabels,
                       json_t **out, char *err, size_t errlen)
{
    return list_call(d, "list volumes", "/volumes", "Volumes", labels, nlabels, out, err, errlen);
}
