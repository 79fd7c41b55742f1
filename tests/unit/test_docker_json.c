/* Unit tests of what the Docker client sends: the JSON bodies (network/volume
 * create), label filters, and, through a fake daemon on a unix socket in a temp
 * directory (no network), the exact requests: method, versioned path, query
 * string, Content-Type, no "Expect: 100-continue", a non-chunked empty body for
 * start, PUT archive with a known length, X-Registry-Auth; plus version
 * negotiation, keep-alive, error messages, and the streams (pull, build, logs)
 * arriving in chunks that split lines and frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "docker_stream.h"

/* ------------------------------------------------------------------ bodies */

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static void test_network_and_volume_bodies(void **state)
{
    (void)state;
    json_t *labels = json_pack("{s:s,s:s}", "io.cdcctl.project", "shop", "io.cdcctl.network", "default");
    json_t *body = docker_network_create_body("shop_default", labels);
    /* the body holds a copy: later changes to labels do not leak in */
    json_object_set_new(labels, "late", json_string("x"));
    char *s = dump(body);
    assert_string_equal(s, "{\"CheckDuplicate\":true,\"Driver\":\"bridge\",\"Labels\":"
                           "{\"io.cdcctl.network\":\"default\",\"io.cdcctl.project\":\"shop\"},"
                           "\"Name\":\"shop_default\"}");
    free(s);
    s = dump(docker_network_create_body("n", NULL));
    assert_string_equal(s, "{\"CheckDuplicate\":true,\"Driver\":\"bridge\",\"Labels\":{},\"Name\":\"n\"}");
    free(s);
    s = dump(docker_volume_create_body("shop_tidb-data", labels));
    assert_string_equal(s, "{\"Labels\":{\"io.cdcctl.network\":\"default\",\"io.cdcctl.project\":\"shop\","
                           "\"late\":\"x\"},\"Name\":\"shop_tidb-data\"}");
    free(s);
    s = dump(docker_volume_create_body("v", NULL));
    assert_string_equal(s, "{\"Labels\":{},\"Name\":\"v\"}");
    free(s);
    json_decref(labels);
}

static void test_filters_and_urlencode(void **state)
{
    (void)state;
    const char *l[] = {"io.cdcctl.project=shop", "io.cdcctl.config-hash"};
    char *f = docker_label_filters(l, 2);
    assert_string_equal(f, "{\"label\":[\"io.cdcctl.project=shop\",\"io.cdcctl.config-hash\"]}");
    struct strbuf sb = {0};
    docker_urlencode(&sb, f);
    assert_string_equal(sb.buf, "%7B%22label%22%3A%5B%22io.cdcctl.project%3Dshop%22%2C%22io.cdcctl."
                                "config-hash%22%5D%7D");
    free(f);
    f = docker_label_filters(NULL, 0);
    assert_string_equal(f, "{}");
    free(f);
    strbuf_reset(&sb);
    docker_urlencode(&sb, "a b/c:d~e_f.g-h&ü");
    assert_string_equal(sb.buf, "a%20b%2Fc%3Ad~e_f.g-h%26%C3%BC");
    strbuf_release(&sb);
}

/* ------------------------------------------------------------------ fake daemon */

struct req {
    char method[16];
    char target[1024];
    char headers[4096]; /* "\r\nname: value" lines, names lower-cased */
    char *body;
    size_t blen;
};

struct fake;
typedef void (*handler_fn)(struct fake *f, const struct req *r, int fd);

struct fake {
    char dir[64], sock[100];
    int lfd;
    pthread_t th;
    pthread_mutex_t mu;
    struct req reqs[64];
    int nreq, nconn;
    handler_fn handler;
    const char *ping_version; /* Api-Version header of /_ping (NULL: none) */
    int head_ping_status;     /* status of HEAD /_ping (0 = 200) */
    const char *version_body; /* body of GET /version */
};

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    default: return "Internal Server Error";
    }
}

static void reply(int fd, int status, const char *extra, const char *body)
{
    struct strbuf sb = {0};
    size_t blen = body ? strlen(body) : 0;
    strbuf_addf(&sb, "HTTP/1.1 %d %s\r\nServer: Docker/20.10.24 (linux)\r\nApi-Version: 1.41\r\n%s",
                status, reason(status), extra ? extra : "");
    if (status != 204 && status != 304)
        strbuf_addf(&sb, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    strbuf_adds(&sb, "\r\n");
    if (body && status != 204 && status != 304)
        strbuf_adds(&sb, body);
    send_all(fd, sb.buf, sb.len);
    strbuf_release(&sb);
}

/* A 200 chunked response, one HTTP chunk per element (elements are raw bytes of
 * length lens[i]). */
static void reply_chunked(int fd, const char *const *chunks, const size_t *lens, size_t n)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    for (size_t i = 0; i < n; i++) {
        char h[32];
        int hl = snprintf(h, sizeof h, "%zx\r\n", lens[i]);
        send_all(fd, h, (size_t)hl);
        send_all(fd, chunks[i], lens[i]);
        send_all(fd, "\r\n", 2);
        usleep(1000);
    }
    send_all(fd, "0\r\n\r\n", 5);
}

/* Splits text into chunks of `every` bytes and sends them chunked. */
static void reply_stream(int fd, const char *data, size_t len, size_t every)
{
    size_t n = (len + every - 1) / every;
    const char **c = calloc(n ? n : 1, sizeof *c);
    size_t *l = calloc(n ? n : 1, sizeof *l);
    for (size_t i = 0; i < n; i++) {
        c[i] = data + i * every;
        l[i] = i + 1 < n ? every : len - i * every;
    }
    reply_chunked(fd, c, l, n);
    free(c);
    free(l);
}

static const char *header(const struct req *r, const char *name)
{
    static _Thread_local char val[1024];
    char key[128];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *h = strstr(r->headers, key);
    if (!h)
        return NULL;
    h += strlen(key);
    while (*h == ' ')
        h++;
    size_t n = strcspn(h, "\r");
    snprintf(val, sizeof val, "%.*s", (int)n, h);
    return val;
}

/* Reads more bytes into `in`; 0 at EOF. */
static int fill(int fd, struct strbuf *in)
{
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
        return 0;
    strbuf_add(in, buf, (size_t)n);
    return 1;
}

static int read_request(int fd, struct strbuf *in, struct req *r)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = in->buf ? strstr(in->buf, "\r\n\r\n") : NULL))
        if (!fill(fd, in))
            return 0;
    size_t hlen = (size_t)(end - in->buf) + 4;
    char *line_end = strstr(in->buf, "\r\n");
    sscanf(in->buf, "%15s %1023s", r->method, r->target);
    size_t hl = (size_t)(end - line_end);
    if (hl >= sizeof r->headers)
        hl = sizeof r->headers - 1;
    memcpy(r->headers, line_end, hl);
    for (char *p = r->headers; *p; p++) { /* lower-case the names */
        if (p[0] == '\n')
            for (char *q = p + 1; *q && *q != ':'; q++)
                *q = (char)tolower((unsigned char)*q);
    }
    struct strbuf body = {0};
    const char *cl = header(r, "content-length");
    const char *te = header(r, "transfer-encoding");
    size_t pos = hlen;
    if (te && strcasecmp(te, "chunked") == 0) {
        for (;;) {
            char *crlf;
            while (!(crlf = strstr(in->buf + pos, "\r\n")))
                if (!fill(fd, in))
                    return 0;
            size_t n = strtoul(in->buf + pos, NULL, 16);
            size_t start = (size_t)(crlf - in->buf) + 2;
            while (in->len < start + n + 2)
                if (!fill(fd, in))
                    return 0;
            strbuf_add(&body, in->buf + start, n);
            pos = start + n + 2;
            if (n == 0)
                break;
        }
    } else if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        while (in->len < hlen + n)
            if (!fill(fd, in))
                return 0;
        strbuf_add(&body, in->buf + hlen, n);
        pos = hlen + n;
    }
    r->blen = body.len;
    r->body = strbuf_detach(&body);
    /* keep what follows (a pipelined request) */
    memmove(in->buf, in->buf + pos, in->len - pos);
    in->len -= pos;
    in->buf[in->len] = '\0';
    return 1;
}

static void default_handler(struct fake *f, const struct req *r, int fd)
{
    if (strcmp(r->target, "/_ping") == 0) {
        char extra[128] = "";
        if (f->ping_version)
            snprintf(extra, sizeof extra, "Api-Version: %s\r\n", f->ping_version);
        int status = strcmp(r->method, "HEAD") == 0 && f->head_ping_status ? f->head_ping_status : 200;
        /* hand-written: reply() always adds an Api-Version header */
        struct strbuf sb = {0};
        strbuf_addf(&sb, "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 2\r\n\r\n%s", status, reason(status), extra,
                    strcmp(r->method, "HEAD") == 0 ? "" : "OK");
        send_all(fd, sb.buf, sb.len);
        strbuf_release(&sb);
        return;
    }
    if (strcmp(r->target, "/version") == 0 && f->version_body) {
        reply(fd, 200, NULL, f->version_body);
        return;
    }
    if (f->handler) {
        f->handler(f, r, fd);
        return;
    }
    reply(fd, 404, NULL, "{\"message\":\"page not found\"}");
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        pthread_mutex_lock(&f->mu);
        f->nconn++;
        pthread_mutex_unlock(&f->mu);
        struct strbuf in = {0};
        struct req r;
        while (read_request(fd, &in, &r)) {
            pthread_mutex_lock(&f->mu);
            if (f->nreq < 64)
                f->reqs[f->nreq++] = r;
            else
                free(r.body);
            pthread_mutex_unlock(&f->mu);
            default_handler(f, &r, fd);
        }
        strbuf_release(&in);
        close(fd);
    }
    return NULL;
}

static struct fake *fake_start(void)
{
    struct fake *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cdcctl-fakedocker-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sock, sizeof f->sock, "%s/docker.sock", f->dir);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->sock);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    pthread_mutex_init(&f->mu, NULL);
    f->ping_version = "1.45";
    char host[160];
    snprintf(host, sizeof host, "unix://%s", f->sock);
    setenv("DOCKER_HOST", host, 1);
    setenv("HOME", f->dir, 1); /* no ~/.docker/config.json */
    unsetenv("DOCKER_CONFIG");
    unsetenv("DOCKER_API_VERSION");
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_TLS");
    assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
    return f;
}

static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
    for (int i = 0; i < f->nreq; i++)
        free(f->reqs[i].body);
    unlink(f->sock);
    char cfg[200];
    snprintf(cfg, sizeof cfg, "%s/config.json", f->dir);
    unlink(cfg);
    rmdir(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* The i-th request (negative: from the end), copied under the lock. */
static struct req last_req(struct fake *f, int i)
{
    pthread_mutex_lock(&f->mu);
    int k = i < 0 ? f->nreq + i : i;
    assert_true(k >= 0 && k < f->nreq);
    struct req r = f->reqs[k];
    pthread_mutex_unlock(&f->mu);
    return r;
}

static void assert_json_body(const struct req *r, const char *want)
{
    assert_string_equal(header(r, "content-type"), "application/json");
    json_t *j = json_loadb(r->body, r->blen, 0, NULL);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, want);
    free(s);
    json_decref(j);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", r->blen);
    assert_string_equal(header(r, "content-length"), cl);
}

static void assert_no_expect_no_chunking(const struct req *r)
{
    const char *e = header(r, "expect");
    assert_true(e == NULL || strstr(e, "100") == NULL);
    assert_null(header(r, "transfer-encoding"));
}

/* ------------------------------------------------------------------ negotiation */

static int open_with(struct fake *f, const char *ping, struct docker **d, char *err, size_t errlen)
{
    f->ping_version = ping;
    return docker_open(d, err, errlen);
}

static void test_negotiation(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    struct docker *d = NULL;
    char err[ERRLEN] = "";

    assert_int_equal(open_with(f, "1.45", &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.45");
    struct req r = last_req(f, -1);
    assert_string_equal(r.method, "HEAD");
    assert_string_equal(r.target, "/_ping"); /* never a version prefix */
    docker_close(d);

    /* a newer daemon: our max */
    assert_int_equal(open_with(f, "1.52", &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.47");
    docker_close(d);

    /* Debian's 20.10 */
    assert_int_equal(open_with(f, "1.41", &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.41");
    docker_close(d);

    /* too old for cdcctl */
    assert_int_equal(open_with(f, "1.39", &d, err, sizeof err), CC_ERR);
    assert_null(d);
    assert_non_null(strstr(err, "speaks API 1.39; cdcctl needs 1.40 or newer"));

    /* no Api-Version on the ping: /version decides */
    f->version_body = "{\"Version\":\"24.0.7\",\"ApiVersion\":\"1.43\",\"MinAPIVersion\":\"1.12\"}";
    int before = f->nreq;
    assert_int_equal(open_with(f, NULL, &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.43");
    r = last_req(f, -1);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/version");
    assert_int_equal(f->nreq - before, 2);
    docker_close(d);
    /* ... and a daemon whose minimum is above what we speak */
    f->version_body = "{\"ApiVersion\":\"1.60\",\"MinAPIVersion\":\"1.50\"}";
    assert_int_equal(open_with(f, NULL, &d, err, sizeof err), CC_ERR);
    assert_non_null(strstr(err, "needs API 1.50 or newer; cdcctl speaks up to 1.47"));

    /* HEAD refused: GET /_ping */
    f->head_ping_status = 405;
    assert_int_equal(open_with(f, "1.44", &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.44");
    r = last_req(f, -1);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/_ping");
    docker_close(d);
    f->head_ping_status = 0;

    /* pinned */
    setenv("DOCKER_API_VERSION", "v1.42", 1);
    assert_int_equal(open_with(f, "1.45", &d, err, sizeof err), CC_OK);
    assert_string_equal(docker_api_version(d), "1.42");
    docker_close(d);
    setenv("DOCKER_API_VERSION", "one", 1);
    assert_int_equal(open_with(f, "1.45", &d, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "DOCKER_API_VERSION 'one': not an API version like 1.41");
    unsetenv("DOCKER_API_VERSION");

    fake_stop(f);
}

/* ------------------------------------------------------------------ requests */

static void api_handler(struct fake *f, const struct req *r, int fd)
{
    (void)f;
    const char *t = r->target;
    if (strcmp(t, "/v1.45/networks/create") == 0) {
        json_t *b = json_loadb(r->body, r->blen, 0, NULL);
        const char *name = json_string_value(json_object_get(b, "Name"));
        if (strcmp(name, "exists") == 0)
            reply(fd, 409, NULL, "{\"message\":\"network with name exists already exists\"}");
        else
            reply(fd, 201, NULL, "{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Warning\":\"\"}");
        json_decref(b);
    } else if (strcmp(t, "/v1.45/networks/exists") == 0) {
        reply(fd, 200, NULL, "{\"Name\":\"exists\",\"Id\":\"feedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeed\"}");
    } else if (strcmp(t, "/v1.45/volumes/create") == 0) {
        reply(fd, 201, NULL, "{\"Name\":\"v\",\"Driver\":\"local\"}");
    } else if (strcmp(t, "/v1.45/containers/abc/start") == 0) {
        reply(fd, 304, NULL, NULL);
    } else if (strncmp(t, "/v1.45/containers/abc/stop", 26) == 0) {
        reply(fd, 204, NULL, NULL);
    } else if (strncmp(t, "/v1.45/containers/abc?", 22) == 0) {
        reply(fd, 404, NULL, "{\"message\":\"No such container: abc\"}");
    } else if (strcmp(t, "/v1.45/containers/create?name=shop-tidb-1") == 0) {
        reply(fd, 409, NULL,
              "{\"message\":\"Conflict. The container name \\\"/shop-tidb-1\\\" is already in use by "
              "container \\\"0123\\\". You have to remove (or rename) that container to be able to "
              "reuse that name.\"}\n");
    } else if (strcmp(t, "/v1.45/containers/create?name=shop-pd-1") == 0) {
        reply(fd, 201, NULL, "{\"Id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"Warnings\":[]}");
    } else if (strncmp(t, "/v1.45/containers/json?", 23) == 0) {
        reply(fd, 200, NULL, "[]");
    } else if (strncmp(t, "/v1.45/volumes", 14) == 0) {
        reply(fd, 200, NULL, "{\"Volumes\":null,\"Warnings\":null}");
    } else if (strncmp(t, "/v1.45/networks?", 16) == 0) {
        reply(fd, 200, NULL, "[{\"Name\":\"shop_default\"}]");
    } else if (strncmp(t, "/v1.45/containers/abc/archive?", 30) == 0) {
        reply(fd, 200, NULL, NULL);
    } else if (strcmp(t, "/v1.45/containers/abc/rename?name=new-name") == 0) {
        reply(fd, 204, NULL, NULL);
    } else if (strcmp(t, "/v1.45/images/pingcap/tidb:v8.5.0/json") == 0) {
        reply(fd, 404, NULL, "{\"message\":\"No such image: pingcap/tidb:v8.5.0\"}");
    } else if (strcmp(t, "/v1.45/info") == 0) {
        reply(fd, 200, NULL, "");
    } else if (strcmp(t, "/v1.45/old") == 0) {
        reply(fd, 400, NULL, "{\"message\":\"client version 1.45 is too old. Minimum supported API "
                             "version is 1.48, please upgrade your client to a newer version\"}");
    } else if (strncmp(t, "/v1.45/plain?", 13) == 0) {
        reply(fd, 502, NULL, "Bad gateway from a proxy\nsecond line");
    } else {
        reply(fd, 404, NULL, "{\"message\":\"page not found\"}");
    }
}

static void test_requests_on_the_wire(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    f->handler = api_handler;
    struct docker *d = NULL;
    char err[ERRLEN] = "", id[65] = "";
    assert_int_equal(docker_open(&d, err, sizeof err), CC_OK);

    /* network create: JSON body with CheckDuplicate, labels */
    json_t *labels = json_pack("{s:s}", "io.cdcctl.project", "shop");
    assert_int_equal(docker_network_create(d, "shop_default", labels, id, err, sizeof err), CC_OK);
    assert_string_equal(id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    struct req r = last_req(f, -1);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.target, "/v1.45/networks/create");
    assert_json_body(&r, "{\"CheckDuplicate\":true,\"Driver\":\"bridge\",\"Labels\":"
                         "{\"io.cdcctl.project\":\"shop\"},\"Name\":\"shop_default\"}");
    assert_no_expect_no_chunking(&r);

    /* 409 already exists: fine, and the id is looked up */
    assert_int_equal(docker_network_create(d, "exists", labels, id, err, sizeof err), CC_OK);
    assert_string_equal(id, "feedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeedfeed");
    r = last_req(f, -1);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.target, "/v1.45/networks/exists");
    int n = f->nreq;
    assert_int_equal(docker_network_create(d, "exists", labels, NULL, err, sizeof err), CC_OK);
    assert_int_equal(f->nreq, n + 1); /* no lookup without id_out */

    /* volume create */
    assert_int_equal(docker_volume_create(d, "shop_data", labels, err, sizeof err), CC_OK);
    r = last_req(f, -1);
    assert_string_equal(r.target, "/v1.45/volumes/create");
    assert_json_body(&r, "{\"Labels\":{\"io.cdcctl.project\":\"shop\"},\"Name\":\"shop_data\"}");
    json_decref(labels);

    /* start: empty POST with Content-Length 0, no Content-Type; 304 is success */
    assert_int_equal(docker_container_start(d, "abc", err, sizeof err), CC_OK);
    r = last_req(f, -1);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.target, "/v1.45/containers/abc/start");
    assert_string_equal(header(&r, "content-length"), "0");
    assert_null(header(&r, "content-type"));
    assert_no_expect_no_chunking(&r);

    assert_int_equal(docker_container_stop(d, "abc", 5, err, sizeof err), CC_OK);
    assert_string_equal(last_req(f, -1).target, "/v1.45/containers/abc/stop?t=5");
    assert_int_equal(docker_container_stop(d, "abc", -1, err, sizeof err), CC_OK);
    assert_string_equal(last_req(f, -1).target, "/v1.45/containers/abc/stop");

    /* remove: DELETE, 404 -> CC_ENOTFOUND with the daemon's message */
    assert_int_equal(docker_container_remove(d, "abc", 1, 0, err, sizeof err), CC_ENOTFOUND);
    r = last_req(f, -1);
    assert_string_equal(r.method, "DELETE");
    assert_string_equal(r.target, "/v1.45/containers/abc?force=1&v=0");
    assert_string_equal(err, "docker: remove container abc: No such container: abc");

    /* create: name in the query, conflict message */
    json_t *body = json_pack("{s:s,s:{s:s}}", "Image", "pingcap/pd:v8.5.0", "Labels", "io.cdcctl.service", "pd");
    assert_int_equal(docker_container_create(d, "shop-pd-1", body, id, err, sizeof err), CC_OK);
    assert_string_equal(id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    r = last_req(f, -1);
    assert_json_body(&r, "{\"Image\":\"pingcap/pd:v8.5.0\",\"Labels\":{\"io.cdcctl.service\":\"pd\"}}");
    assert_int_equal(docker_container_create(d, "shop-tidb-1", body, id, err, sizeof err), CC_ERR);
    assert_string_equal(err, "docker: create container shop-tidb-1: Conflict. The container name "
                             "\"/shop-tidb-1\" is already in use by container \"0123\". You have to "
                             "remove (or rename) that container to be able to reuse that name");
    json_decref(body);

    /* lists with label filters */
    const char *l[] = {"io.cdcctl.project=shop"};
    json_t *out = NULL;
    assert_int_equal(docker_container_list(d, l, 1, &out, err, sizeof err), CC_OK);
    assert_true(json_is_array(out) && json_array_size(out) == 0);
    json_decref(out);
    assert_string_equal(last_req(f, -1).target,
                        "/v1.45/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io.cdcctl."
                        "project%3Dshop%22%5D%7D");
    assert_int_equal(docker_volume_list(d, l, 1, &out, err, sizeof err), CC_OK);
    assert_true(json_is_array(out) && json_array_size(out) == 0); /* "Volumes": null */
    json_decref(out);
    assert_string_equal(last_req(f, -1).target,
                        "/v1.45/volumes?filters=%7B%22label%22%3A%5B%22io.cdcctl.project%3Dshop%22%5D%7D");
    assert_int_equal(docker_network_list(d, l, 1, &out, err, sizeof err), CC_OK);
    assert_int_equal(json_array_size(out), 1);
    json_decref(out);

    /* archive upload: PUT, x-tar, known length, the bytes as given */
    static const char tar[] = "pretend this is a tar\0with a NUL";
    assert_int_equal(docker_container_put_archive(d, "abc", "/etc/x y", tar, sizeof tar, err, sizeof err), CC_OK);
    r = last_req(f, -1);
    assert_string_equal(r.method, "PUT");
    assert_string_equal(r.target, "/v1.45/containers/abc/archive?path=%2Fetc%2Fx%20y");
    assert_string_equal(header(&r, "content-type"), "application/x-tar");
    char cl[16];
    snprintf(cl, sizeof cl, "%zu", sizeof tar);
    assert_string_equal(header(&r, "content-length"), cl);
    assert_int_equal(r.blen, sizeof tar);
    assert_memory_equal(r.body, tar, sizeof tar);
    assert_no_expect_no_chunking(&r);

    assert_int_equal(docker_container_rename(d, "abc", "new-name", err, sizeof err), CC_OK);
    assert_string_equal(last_req(f, -1).method, "POST");

    /* image inspect keeps '/' and ':' in the path */
    assert_int_equal(docker_image_inspect(d, "pingcap/tidb:v8.5.0", &out, err, sizeof err), CC_ENOTFOUND);
    assert_null(out);
    assert_string_equal(err, "docker: inspect image pingcap/tidb:v8.5.0: No such image: pingcap/tidb:v8.5.0");

    /* generic call: empty 200 body, status; version problems; non-JSON errors */
    long status = 0;
    out = (json_t *)1;
    assert_int_equal(docker_call(d, "GET", "/info", NULL, &status, &out, err, sizeof err), CC_OK);
    assert_int_equal(status, 200);
    assert_null(out);
    assert_int_equal(docker_call(d, "GET", "/old", NULL, &status, NULL, err, sizeof err), CC_ERR);
    assert_int_equal(status, 400);
    assert_non_null(strstr(err, "docker: GET /old: the daemon refused API version 1.45: client version "
                                "1.45 is too old"));
    assert_int_equal(docker_call(d, "GET", "/plain?x=1", NULL, &status, NULL, err, sizeof err), CC_ERR);
    assert_int_equal(status, 502);
    assert_string_equal(err, "docker: GET /plain: Bad gateway from a proxy");

    /* all of it over one kept-alive connection */
    assert_int_equal(f->nconn, 1);
    docker_close(d);
    fake_stop(f);
}

/* ------------------------------------------------------------------ streams */

static const char PULL_FAIL[] =
    "{\"status\":\"Pulling from team/app\",\"id\":\"1\"}\r\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":10,\"total\":100},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":20,\"total\":100},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"errorDetail\":{\"message\":\"read tcp 10.0.0.1:443: connection reset by peer\"},"
    "\"error\":\"read tcp 10.0.0.1:443: connection reset by peer\"}\r\n";
static const char PULL_GOOD[] =
    "{\"status\":\"Pulling from team/app\",\"id\":\"1\"}\r\n"
    "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Digest: sha256:00ff\"}\r\n"
    "{\"status\":\"Status: Downloaded newer image for localhost:5000/team/app:1\"}\r\n";

static void stream_handler(struct fake *f, const struct req *r, int fd)
{
    (void)f;
    const char *t = r->target;
    if (strcmp(t, "/v1.45/images/create?fromImage=localhost%3A5000%2Fteam%2Fapp&tag=1") == 0) {
        reply_stream(fd, PULL_FAIL, sizeof PULL_FAIL - 1, 17);
    } else if (strcmp(t, "/v1.45/images/create?fromImage=localhost%3A5000%2Fteam%2Fapp&tag=2") == 0) {
        reply_stream(fd, PULL_GOOD, sizeof PULL_GOOD - 1, 5);
    } else if (strncmp(t, "/v1.45/images/create?fromImage=nothing", 38) == 0) {
        reply(fd, 404, NULL, "{\"message\":\"pull access denied for nothing, repository does not exist\"}");
    } else if (strncmp(t, "/v1.45/build?", 13) == 0) {
        static const char out[] = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n"
                                  "{\"errorDetail\":{\"message\":\"No build stage in current context\"},"
                                  "\"error\":\"No build stage in current context\"}\r\n";
        reply_stream(fd, out, sizeof out - 1, 9);
    } else if (strncmp(t, "/v1.45/containers/abc/logs?", 27) == 0) {
        static const unsigned char frames[] =
            "\x01\0\0\0\0\0\0\x06hello\n"
            "\x02\0\0\0\0\0\0\x05oops\n"
            "\x01\0\0\0\0\0\0\0"
            "\x01\0\0\0\0\0\0\x07world!\n";
        if (strstr(t, "follow=1")) {
            /* keep the stream open until the client goes away */
            for (int i = 0; i < 50; i++) {
                static const char chunk[] = "\x01\0\0\0\0\0\0\x05tick\n";
                if (i == 0) {
                    static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                    send_all(fd, head, sizeof head - 1);
                }
                char h[16];
                int hl = snprintf(h, sizeof h, "%zx\r\n", sizeof chunk - 1);
                send_all(fd, h, (size_t)hl);
                send_all(fd, chunk, sizeof chunk - 1);
                send_all(fd, "\r\n", 2);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 20) > 0) {
                    char b;
                    if (recv(fd, &b, 1, MSG_PEEK) <= 0)
                        return;
                }
            }
            return;
        }
        reply_stream(fd, (const char *)frames, sizeof frames - 1, 3);
    } else {
        reply(fd, 404, NULL, "{\"message\":\"page not found\"}");
    }
}

struct logs {
    struct strbuf out, err;
    int calls, stop_after;
};

static int on_log(int stream, const char *data, size_t len, void *ctx)
{
    struct logs *l = ctx;
    strbuf_add(stream == 2 ? &l->err : &l->out, data, len);
    l->calls++;
    return l->stop_after && l->calls >= l->stop_after;
}

static void test_streams(void **state)
{
    (void)state;
    struct fake *f = fake_start();
    f->handler = stream_handler;
    struct docker *d = NULL;
    char err[ERRLEN] = "";
    assert_int_equal(docker_open(&d, err, sizeof err), CC_OK);

    /* pull: repo and tag split, auth header, error inside the 200 stream */
    char *buf = NULL;
    size_t len = 0;
    FILE *progress = open_memstream(&buf, &len);
    assert_int_equal(docker_image_pull(d, "localhost:5000/team/app:1", progress, err, sizeof err), CC_ERR);
    assert_string_equal(err, "docker: pull localhost:5000/team/app:1: read tcp 10.0.0.1:443: "
                             "connection reset by peer");
    struct req r = last_req(f, -1);
    assert_string_equal(r.method, "POST");
    assert_string_equal(header(&r, "x-registry-auth"), "e30=");
    assert_string_equal(header(&r, "content-length"), "0");
    assert_no_expect_no_chunking(&r);
    /* with credentials in $DOCKER_CONFIG/config.json */
    char cfgpath[200];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.json", f->dir);
    static const char cfg[] = "{\"auths\":{\"localhost:5000\":{\"auth\":\"dXNlcjpwdw==\"}}}";
    assert_int_equal(write_file_atomic(cfgpath, cfg, sizeof cfg - 1, 0600, err, sizeof err), CC_OK);
    setenv("DOCKER_CONFIG", f->dir, 1);
    assert_int_equal(docker_image_pull(d, "localhost:5000/team/app:2", progress, err, sizeof err), CC_OK);
    unsetenv("DOCKER_CONFIG");
    r = last_req(f, -1);
    char *want_auth = docker_registry_auth(cfg, "localhost:5000");
    assert_string_equal(header(&r, "x-registry-auth"), want_auth);
    assert_string_not_equal(want_auth, "e30=");
    free(want_auth);
    fclose(progress);
    assert_string_equal(buf,
                        "pull localhost:5000/team/app:1: 1: Pulling from team/app\n"
                        "pull localhost:5000/team/app:1: a1b2c3d4e5f6: Pulling fs layer\n"
                        "pull localhost:5000/team/app:1: a1b2c3d4e5f6: Downloading\n"
                        "pull localhost:5000/team/app:2: 1: Pulling from team/app\n"
                        "pull localhost:5000/team/app:2: a1b2c3d4e5f6: Already exists\n"
                        "pull localhost:5000/team/app:2: Digest: sha256:00ff\n"
                        "pull localhost:5000/team/app:2: Status: Downloaded newer image for "
                        "localhost:5000/team/app:1\n");
    free(buf);
    /* an error before the stream starts is a plain HTTP error */
    assert_int_equal(docker_image_pull(d, "nothing", NULL, err, sizeof err), CC_ENOTFOUND);
    assert_string_equal(err, "docker: pull nothing: pull access denied for nothing, repository does not exist");
    assert_string_equal(last_req(f, -1).target, "/v1.45/images/create?fromImage=nothing&tag=latest");

    /* build: query, tar body, error in the stream */
    json_t *labels = json_pack("{s:s}", "io.cdcctl.context-hash", "ab12");
    static const char ctx[] = "tar bytes";
    assert_int_equal(docker_image_build(d, "shop/consumer:dev", ctx, sizeof ctx - 1, "docker/Dockerfile",
                                        labels, NULL, err, sizeof err), CC_ERR);
    assert_string_equal(err, "docker: build shop/consumer:dev: No build stage in current context");
    r = last_req(f, -1);
    assert_string_equal(r.target, "/v1.45/build?t=shop%2Fconsumer%3Adev&dockerfile=docker%2FDockerfile"
                                  "&labels=%7B%22io.cdcctl.context-hash%22%3A%22ab12%22%7D&rm=1&forcerm=1");
    assert_string_equal(header(&r, "content-type"), "application/x-tar");
    assert_int_equal(r.blen, sizeof ctx - 1);
    assert_memory_equal(r.body, ctx, sizeof ctx - 1);
    assert_no_expect_no_chunking(&r);
    json_decref(labels);

    /* logs: frames split over HTTP chunks of 3 bytes */
    struct logs l = {0};
    assert_int_equal(docker_container_logs(d, "abc", 10, 0, 0, on_log, &l, err, sizeof err), CC_OK);
    assert_string_equal(last_req(f, -1).target, "/v1.45/containers/abc/logs?stdout=1&stderr=1&follow=0&tail=10");
    assert_string_equal(l.out.buf, "hello\nworld!\n");
    assert_string_equal(l.err.buf, "oops\n");
    strbuf_release(&l.out);
    strbuf_release(&l.err);
    /* the same bytes read as a tty stream are passed through raw */
    struct logs raw = {0};
    assert_int_equal(docker_container_logs(d, "abc", -1, 0, 1, on_log, &raw, err, sizeof err), CC_OK);
    assert_string_equal(last_req(f, -1).target, "/v1.45/containers/abc/logs?stdout=1&stderr=1&follow=0&tail=all");
    assert_int_equal(raw.out.len, 8 + 6 + 8 + 5 + 8 + 8 + 7);
    assert_null(raw.err.buf);
    strbuf_release(&raw.out);
    /* follow until the callback has seen enough */
    struct logs fl = {.stop_after = 3};
    assert_int_equal(docker_container_logs(d, "abc", 0, 1, 0, on_log, &fl, err, sizeof err), CC_OK);
    assert_int_equal(fl.calls, 3);
    assert_string_equal(fl.out.buf, "tick\ntick\ntick\n");
    strbuf_release(&fl.out);

    /* the handle still works after an aborted stream */
    long status = 0;
    assert_int_equal(docker_call(d, "GET", "/nope", NULL, &status, NULL, err, sizeof err), CC_ENOTFOUND);
    assert_int_equal(status, 404);

    docker_close(d);
    fake_stop(f);
}

/* ------------------------------------------------------------------ transport errors */

static void test_unreachable_daemon(void **state)
{
    (void)state;
    char dir[] = "/tmp/cdcctl-nodocker-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char host[200], sock[100];
    struct docker *d = NULL;
    char err[ERRLEN] = "";
    unsetenv("DOCKER_API_VERSION");

    snprintf(host, sizeof host, "unix://%s/missing.sock", dir);
    setenv("DOCKER_HOST", host, 1);
    assert_int_equal(docker_open(&d, err, sizeof err), CC_ERR);
    assert_null(d);
    char want[512];
    snprintf(want, sizeof want, "cannot reach the Docker daemon at %s: the socket does not exist "
             "(is dockerd running? is DOCKER_HOST right?)", host);
    assert_string_equal(err, want);

    /* a socket nobody listens on */
    snprintf(sock, sizeof sock, "%s/dead.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    snprintf(host, sizeof host, "unix://%s", sock);
    setenv("DOCKER_HOST", host, 1);
    assert_int_equal(docker_open(&d, err, sizeof err), CC_ERR);
    snprintf(want, sizeof want, "cannot reach the Docker daemon at %s: connection refused (is dockerd running?)", host);
    assert_string_equal(err, want);
    close(fd);
    unlink(sock);

    setenv("DOCKER_HOST", "ssh://user@remote", 1);
    assert_int_equal(docker_open(&d, err, sizeof err), CC_EINVAL);
    assert_non_null(strstr(err, "ssh:// is not supported"));
    unsetenv("DOCKER_HOST");
    rmdir(dir);
    docker_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_and_volume_bodies),
        cmocka_unit_test(test_filters_and_urlencode),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_requests_on_the_wire),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_unreachable_daemon),
    };
    return cmocka_run_group_tests_name("docker_json", tests, NULL, NULL);
}
