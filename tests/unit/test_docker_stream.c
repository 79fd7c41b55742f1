/* Unit tests of docker_stream: pull progress (parsing, error inside a 200 stream,
 * plain and terminal rendering), build output, the log demultiplexer, and the
 * pure request helpers (image references, registry auth, DOCKER_HOST, versions). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_stream.h"

/* A realistic pull stream (captured shape of Docker 20.10's output). */
static const char PULL_OK[] =
    "{\"status\":\"Pulling from library/busybox\",\"id\":\"1.36\"}\r\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"0f0e0d0c0b0a\"}\r\n"
    "{\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"0f0e0d0c0b0a\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":32768,\"total\":2223030},"
    "\"progress\":\"[>   ]  32.77kB/2.223MB\",\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1048576,\"total\":2223030},"
    "\"progress\":\"[=>  ]  1.049MB/2.223MB\",\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":2223030,\"total\":2223030},"
    "\"progress\":\"[===>]  2.223MB/2.223MB\",\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":65536,\"total\":2223030},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":2223030,\"total\":2223030},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\r\n"
    "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"0f0e0d0c0b0a\"}\r\n"
    "{\"status\":\"Digest: sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb\"}\r\n"
    "{\"status\":\"Status: Downloaded newer image for busybox:1.36\"}\r\n";

static const char PULL_OK_PLAIN[] =
    "pull busybox:1.36: 1.36: Pulling from library/busybox\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Pulling fs layer\n"
    "pull busybox:1.36: 0f0e0d0c0b0a: Pulling fs layer\n"
    "pull busybox:1.36: 0f0e0d0c0b0a: Waiting\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Downloading\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Verifying Checksum\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Download complete\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Extracting\n"
    "pull busybox:1.36: a1b2c3d4e5f6: Pull complete\n"
    "pull busybox:1.36: 0f0e0d0c0b0a: Already exists\n"
    "pull busybox:1.36: Digest: sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb\n"
    "pull busybox:1.36: Status: Downloaded newer image for busybox:1.36\n";

/* Feeds `data` to a pull renderer in chunks of `chunk` bytes; returns the output. */
static char *render_pull(const char *image, const char *data, size_t chunk, int tty, int *rc,
                         char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct pull_progress *p = pull_progress_new(image, out, tty);
    size_t n = strlen(data);
    for (size_t off = 0; off < n; off += chunk)
        pull_progress_feed(p, data + off, off + chunk <= n ? chunk : n - off);
    *rc = pull_progress_finish(p, err, errlen);
    pull_progress_free(p);
    fclose(out);
    return buf;
}

static void test_pull_plain_lines_any_chunking(void **state)
{
    (void)state;
    size_t chunks[] = {1, 2, 3, 7, 64, 1000, 100000};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char err[ERRLEN] = "";
        int rc;
        char *out = render_pull("busybox:1.36", PULL_OK, chunks[i], 0, &rc, err, sizeof err);
        assert_int_equal(rc, CC_OK);
        assert_string_equal(out, PULL_OK_PLAIN);
        free(out);
    }
}

static void test_pull_error_inside_200_stream(void **state)
{
    (void)state;
    static const char stream[] =
        "{\"status\":\"Pulling from cdcctl/nothing\",\"id\":\"1\"}\n"
        "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a1b2c3d4e5f6\"}\n"
        "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},"
        "\"error\":\"unauthorized: authentication required\"}\n";
    size_t chunks[] = {1, 5, 13, 4096};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char err[ERRLEN] = "";
        int rc;
        char *out = render_pull("x", stream, chunks[i], 0, &rc, err, sizeof err);
        assert_int_equal(rc, CC_ERR);
        assert_string_equal(err, "unauthorized: authentication required");
        assert_string_equal(out, "pull x: 1: Pulling from cdcctl/nothing\n"
                                 "pull x: a1b2c3d4e5f6: Pulling fs layer\n");
        free(out);
    }
}

static void test_pull_error_only_error_field_and_no_final_newline(void **state)
{
    (void)state;
    char err[ERRLEN] = "";
    int rc;
    /* the older "error" string alone, and a last line without '\n' */
    char *out = render_pull("x", "{\"status\":\"Pulling\"}\n{\"error\":\"manifest unknown\\n\"}", 3, 0,
                            &rc, err, sizeof err);
    assert_int_equal(rc, CC_ERR);
    assert_string_equal(err, "manifest unknown");
    free(out);
    /* garbage lines are ignored, a good stream stays good */
    out = render_pull("x", "not json\n\n[1,2]\n{\"status\":\"Status: Image is up to date for x\"}\n",
                      4, 0, &rc, err, sizeof err);
    assert_int_equal(rc, CC_OK);
    assert_string_equal(out, "pull x: Status: Image is up to date for x\n");
    free(out);
}

static void test_pull_retry_ticks_once(void **state)
{
    (void)state;
    static const char stream[] =
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":9},\"id\":\"L\"}\n"
        "{\"status\":\"Retrying in 3 seconds\",\"progressDetail\":{},\"id\":\"L\"}\n"
        "{\"status\":\"Retrying in 2 seconds\",\"progressDetail\":{},\"id\":\"L\"}\n"
        "{\"status\":\"Retrying in 1 second\",\"progressDetail\":{},\"id\":\"L\"}\n"
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":9},\"id\":\"L\"}\n"
        "{\"status\":\"Retrying in 5 seconds\",\"progressDetail\":{},\"id\":\"L\"}\n"
        "{\"status\":\"Retrying in 4 seconds\",\"progressDetail\":{},\"id\":\"L\"}\n"
        "{\"errorDetail\":{\"message\":\"expected HTTP 206 from byte range request\"},"
        "\"error\":\"expected HTTP 206 from byte range request\"}\n";
    char err[ERRLEN] = "";
    int rc;
    char *out = render_pull("r:1", stream, 10, 0, &rc, err, sizeof err);
    assert_int_equal(rc, CC_ERR);
    assert_string_equal(err, "expected HTTP 206 from byte range request");
    assert_string_equal(out, "pull r:1: L: Downloading\npull r:1: L: Retrying in 3 seconds\n"
                             "pull r:1: L: Downloading\npull r:1: L: Retrying in 5 seconds\n");
    free(out);
}

static void test_pull_silent(void **state)
{
    (void)state;
    struct pull_progress *p = pull_progress_new("x", NULL, 1);
    pull_progress_feed(p, PULL_OK, strlen(PULL_OK));
    char err[ERRLEN] = "";
    assert_int_equal(pull_progress_finish(p, err, sizeof err), CC_OK);
    pull_progress_free(p);
    pull_progress_free(NULL);
}

static void test_progress_line_format(void **state)
{
    (void)state;
    struct strbuf sb = {0};
    pull_progress_format_line(&sb, "a1b2", "Downloading", 1200000, 4500000);
    assert_string_equal(sb.buf, "a1b2: Downloading [========>                     ] 1.2MB/4.5MB");
    strbuf_reset(&sb);
    pull_progress_format_line(&sb, "a1b2", "Extracting", 4500000, 4500000);
    assert_string_equal(sb.buf, "a1b2: Extracting [==============================] 4.5MB/4.5MB");
    strbuf_reset(&sb);
    pull_progress_format_line(&sb, "a1b2", "Pull complete", 0, 0);
    assert_string_equal(sb.buf, "a1b2: Pull complete");
    strbuf_reset(&sb);
    pull_progress_format_line(&sb, "x", "Downloading", 999, 0);
    assert_string_equal(sb.buf, "x: Downloading 999B");
    strbuf_reset(&sb);
    pull_progress_format_line(&sb, "x", "Downloading", 0, 1500000000);
    assert_string_equal(sb.buf, "x: Downloading [>                             ] 0B/1.5GB");
    strbuf_release(&sb);
}

static void test_pull_tty_redraws_in_place(void **state)
{
    (void)state;
    static const char stream[] =
        "{\"status\":\"Pulling fs layer\",\"id\":\"aaa\"}\n"
        "{\"status\":\"Pulling fs layer\",\"id\":\"bbb\"}\n"
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":500,\"total\":1000},\"id\":\"aaa\"}\n"
        "{\"status\":\"Pull complete\",\"id\":\"bbb\"}\n"
        "{\"status\":\"Digest: sha256:00\"}\n"
        "{\"status\":\"Pull complete\",\"id\":\"aaa\"}\n";
    char err[ERRLEN];
    int rc;
    char *out = render_pull("x", stream, 9, 1, &rc, err, sizeof err);
    assert_int_equal(rc, CC_OK);
    assert_string_equal(out,
                        "aaa: Pulling fs layer\n"
                        "bbb: Pulling fs layer\n"
                        /* aaa is two rows up: up, clear, draw, back down */
                        "\033[2A\r\033[2Kaaa: Downloading [===============>              ] 500B/1kB\r\033[2B"
                        "\033[1A\r\033[2Kbbb: Pull complete\r\033[1B"
                        "Digest: sha256:00\n"
                        /* after a line outside the block, a layer starts a new row */
                        "aaa: Pull complete\n");
    free(out);
}

static char *render_build(const char *data, size_t chunk, int *rc, char *err, size_t errlen,
                          char **image_id)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct build_stream *b = build_stream_new(out);
    size_t n = strlen(data);
    for (size_t off = 0; off < n; off += chunk)
        build_stream_feed(b, data + off, off + chunk <= n ? chunk : n - off);
    *rc = build_stream_finish(b, err, errlen);
    const char *id = build_stream_image_id(b);
    *image_id = id ? strdup(id) : NULL;
    build_stream_free(b);
    fclose(out);
    return buf;
}

static void test_build_stream(void **state)
{
    (void)state;
    static const char ok[] =
        "{\"stream\":\"Step 1/2 : FROM cdcctl-test/busybox:1\"}\r\n{\"stream\":\"\\n\"}\r\n"
        "{\"stream\":\" ---\\u003e 17cf22c2438b\\n\"}\r\n"
        "{\"status\":\"Downloading\",\"id\":\"abc\",\"progressDetail\":{\"current\":1}}\r\n"
        "{\"status\":\"Downloading\",\"id\":\"abc\",\"progressDetail\":{\"current\":2}}\r\n"
        "{\"aux\":{\"ID\":\"sha256:adcab1324662aa\"}}\r\n"
        "{\"stream\":\"Successfully built adcab1324662\\n\"}\r\n";
    for (size_t chunk = 1; chunk < sizeof ok; chunk += 11) {
        int rc;
        char err[ERRLEN] = "", *id = NULL;
        char *out = render_build(ok, chunk, &rc, err, sizeof err, &id);
        assert_int_equal(rc, CC_OK);
        assert_string_equal(out, "Step 1/2 : FROM cdcctl-test/busybox:1\n ---> 17cf22c2438b\n"
                                 "abc: Downloading\nSuccessfully built adcab1324662\n");
        assert_non_null(id);
        assert_string_equal(id, "sha256:adcab1324662aa");
        free(id);
        free(out);
    }
    static const char bad[] =
        "{\"stream\":\"Step 1/2 : FROM scratch\\n\"}\n"
        "{\"stream\":\"Step 2/2 : COPY missing.txt /x\\n\"}\n"
        "{\"errorDetail\":{\"message\":\"COPY failed: file not found in build context\"},"
        "\"error\":\"COPY failed: file not found in build context\"}\n";
    int rc;
    char err[ERRLEN] = "", *id = NULL;
    char *out = render_build(bad, 17, &rc, err, sizeof err, &id);
    assert_int_equal(rc, CC_ERR);
    assert_string_equal(err, "COPY failed: file not found in build context");
    assert_null(id);
    free(out);
}

/* ---- log demux ---- */

struct collected {
    struct strbuf out, err;
    int calls, zero_len_calls, stop_after;
};

static int collect(int stream, const char *data, size_t len, void *ctx)
{
    struct collected *c = ctx;
    assert_true(stream == 1 || stream == 2);
    if (!len)
        c->zero_len_calls++;
    strbuf_add(stream == 1 ? &c->out : &c->err, data, len);
    c->calls++;
    return c->stop_after && c->calls >= c->stop_after;
}

static void frame(struct strbuf *sb, int type, const char *data, size_t len)
{
    unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16), (unsigned char)(len >> 8), (unsigned char)len};
    strbuf_add(sb, h, 8);
    strbuf_add(sb, data, len);
}

static void test_demux_frames_straddling_chunks(void **state)
{
    (void)state;
    struct strbuf s = {0}, big = {0}, want_out = {0};
    for (int i = 0; i < 70000; i++)
        strbuf_add(&big, &"0123456789abcdef\n"[i % 17], 1);
    frame(&s, 1, "hello\n", 6);
    frame(&s, 2, "oops\n", 5);
    frame(&s, 1, "", 0); /* zero-length frame */
    frame(&s, 1, big.buf, big.len);
    frame(&s, 0, "stdin-as-stdout\n", 16);
    frame(&s, 2, "", 0);
    frame(&s, 2, "second\n", 7);
    strbuf_adds(&want_out, "hello\n");
    strbuf_add(&want_out, big.buf, big.len);
    strbuf_adds(&want_out, "stdin-as-stdout\n");
    size_t chunks[] = {1, 2, 3, 5, 7, 8, 9, 4096, 16384, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct log_demux d;
        struct collected c = {0};
        char err[ERRLEN] = "";
        log_demux_init(&d, 0);
        for (size_t off = 0; off < s.len; off += chunks[i]) {
            size_t n = off + chunks[i] <= s.len ? chunks[i] : s.len - off;
            assert_int_equal(log_demux_feed(&d, s.buf + off, n, collect, &c, err, sizeof err), CC_OK);
        }
        assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_OK);
        assert_int_equal(c.zero_len_calls, 0);
        assert_int_equal(c.out.len, want_out.len);
        assert_memory_equal(c.out.buf, want_out.buf, want_out.len);
        assert_string_equal(c.err.buf, "oops\nsecond\n");
        log_demux_release(&d);
        strbuf_release(&c.out);
        strbuf_release(&c.err);
    }
    strbuf_release(&s);
    strbuf_release(&big);
    strbuf_release(&want_out);
}

static void test_demux_stop_raw_and_errors(void **state)
{
    (void)state;
    struct strbuf s = {0};
    frame(&s, 1, "a\n", 2);
    frame(&s, 1, "b\n", 2);
    frame(&s, 1, "c\n", 2);
    struct log_demux d;
    struct collected c = {.stop_after = 2};
    char err[ERRLEN] = "";
    /* the callback stops the stream: nothing more is handed over */
    log_demux_init(&d, 0);
    assert_int_equal(log_demux_feed(&d, s.buf, s.len, collect, &c, err, sizeof err), CC_OK);
    assert_true(d.stopped);
    assert_int_equal(c.calls, 2);
    assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_OK);
    assert_string_equal(c.out.buf, "a\nb\n");
    log_demux_release(&d);
    strbuf_release(&c.out);

    /* tty: raw passthrough */
    struct collected r = {0};
    log_demux_init(&d, 1);
    assert_int_equal(log_demux_feed(&d, "raw text\n", 9, collect, &r, err, sizeof err), CC_OK);
    assert_int_equal(log_demux_feed(&d, "", 0, collect, &r, err, sizeof err), CC_OK);
    assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_OK);
    assert_string_equal(r.out.buf, "raw text\n");
    assert_int_equal(r.calls, 1);
    log_demux_release(&d);
    strbuf_release(&r.out);

    /* a raw stream read as multiplexed: malformed header */
    struct collected m = {0};
    log_demux_init(&d, 0);
    assert_int_equal(log_demux_feed(&d, "2024-01-01 hello\n", 17, collect, &m, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "log stream: malformed frame header (is the container a tty?)");
    log_demux_release(&d);

    /* truncated in the middle of a frame */
    log_demux_init(&d, 0);
    assert_int_equal(log_demux_feed(&d, s.buf, 9, collect, &m, err, sizeof err), CC_OK);
    assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_EINVAL);
    assert_string_equal(err, "log stream: truncated frame");
    log_demux_release(&d);
    log_demux_init(&d, 0);
    assert_int_equal(log_demux_feed(&d, s.buf, 3, collect, &m, err, sizeof err), CC_OK);
    assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_EINVAL);
    log_demux_release(&d);
    strbuf_release(&m.out);

    /* type 3: an error from the daemon */
    struct strbuf e = {0};
    frame(&e, 1, "x\n", 2);
    frame(&e, 3, "error from daemon in stream: log file rotated\n", 46);
    struct collected x = {0};
    log_demux_init(&d, 0);
    for (size_t i = 0; i < e.len; i++)
        assert_int_equal(log_demux_feed(&d, e.buf + i, 1, collect, &x, err, sizeof err), CC_OK);
    assert_int_equal(log_demux_finish(&d, err, sizeof err), CC_ERR);
    assert_string_equal(err, "error from daemon in stream: log file rotated");
    assert_string_equal(x.out.buf, "x\n");
    log_demux_release(&d);
    strbuf_release(&x.out);
    strbuf_release(&e);
    strbuf_release(&s);
}

/* ---- request helpers ---- */

static void check_ref(const char *image, const char *repo, const char *tag)
{
    char *r = NULL, *t = NULL, err[ERRLEN] = "";
    int rc = docker_image_ref_split(image, &r, &t, err, sizeof err);
    if (!repo) {
        assert_int_equal(rc, CC_EINVAL);
        assert_null(r);
        assert_null(t);
        return;
    }
    assert_int_equal(rc, CC_OK);
    assert_string_equal(r, repo);
    assert_string_equal(t, tag);
    free(r);
    free(t);
}

static void test_image_ref_split(void **state)
{
    (void)state;
    check_ref("busybox", "busybox", "latest");
    check_ref("busybox:1.36", "busybox", "1.36");
    check_ref("library/busybox:1", "library/busybox", "1");
    check_ref("localhost:5000/x", "localhost:5000/x", "latest");
    check_ref("localhost:5000/x:1", "localhost:5000/x", "1");
    check_ref("registry.example.com:443/team/app:v2.1", "registry.example.com:443/team/app", "v2.1");
    check_ref("pingcap/tidb@sha256:0123abcd", "pingcap/tidb", "sha256:0123abcd");
    check_ref("pingcap/tidb:v8.5.0@sha256:0123abcd", "pingcap/tidb", "sha256:0123abcd");
    check_ref("localhost:5000/x@sha256:ff", "localhost:5000/x", "sha256:ff");
    check_ref("", NULL, NULL);
    check_ref("busybox:", NULL, NULL);
    check_ref(":1", NULL, NULL);
    check_ref("x@sha256", NULL, NULL);
    check_ref("x@", NULL, NULL);
    check_ref("bad name:1", NULL, NULL);
    check_ref("/x", NULL, NULL);
}

static void check_registry(const char *image, const char *want)
{
    char *r = docker_image_registry(image);
    assert_string_equal(r, want);
    free(r);
}

static void test_image_registry(void **state)
{
    (void)state;
    check_registry("busybox", "docker.io");
    check_registry("pingcap/tidb", "docker.io");
    check_registry("localhost/x", "localhost");
    check_registry("localhost:5000/x", "localhost:5000");
    check_registry("quay.io/coreos/etcd", "quay.io");
    check_registry("127.0.0.1:5000/a/b", "127.0.0.1:5000");
}

/* Decodes base64url to a malloc'd string (test helper). */
static char *b64url_decode(const char *s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct strbuf out = {0};
    unsigned acc = 0;
    int bits = 0;
    for (const char *c = s; *c && *c != '='; c++) {
        const char *p = strchr(tbl, *c);
        assert_non_null(p);
        acc = acc << 6 | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char ch = (char)(acc >> bits & 0xff);
            strbuf_add(&out, &ch, 1);
        }
    }
    return strbuf_detach(&out);
}

static void test_registry_auth(void **state)
{
    (void)state;
    char *a = docker_registry_auth(NULL, "docker.io");
    assert_string_equal(a, "e30=");
    free(a);
    /* "user:pa:ss" in base64, for a registry with a port; the other entry is ignored */
    static const char cfg[] =
        "{\"auths\":{\"other.io\":{\"auth\":\"eDp5\"},"
        "\"localhost:5000\":{\"auth\":\"dXNlcjpwYTpzcw==\"}},\"credsStore\":\"desktop\"}";
    a = docker_registry_auth(cfg, "localhost:5000");
    assert_null(strchr(a, '+'));
    assert_null(strchr(a, '/'));
    char *json = b64url_decode(a);
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "username")), "user");
    assert_string_equal(json_string_value(json_object_get(j, "password")), "pa:ss");
    assert_string_equal(json_string_value(json_object_get(j, "serveraddress")), "localhost:5000");
    json_decref(j);
    free(json);
    free(a);
    /* Docker Hub's legacy key, identity tokens */
    static const char hub[] =
        "{\"auths\":{\"https://index.docker.io/v1/\":{\"identitytoken\":\"tok\"}}}";
    a = docker_registry_auth(hub, "docker.io");
    json = b64url_decode(a);
    j = json_loads(json, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "identitytoken")), "tok");
    assert_string_equal(json_string_value(json_object_get(j, "serveraddress")),
                        "https://index.docker.io/v1/");
    json_decref(j);
    free(json);
    free(a);
    /* no entry for this registry, or a broken config: empty credentials */
    a = docker_registry_auth(cfg, "quay.io");
    assert_string_equal(a, "e30=");
    free(a);
    a = docker_registry_auth("{not json", "quay.io");
    assert_string_equal(a, "e30=");
    free(a);
}

static void check_endpoint(const char *host, int tls_env, int want_rc, const char *base,
                           const char *sock, int tls)
{
    struct docker_endpoint ep;
    char err[ERRLEN] = "";
    int rc = docker_endpoint_parse(host, tls_env, &ep, err, sizeof err);
    assert_int_equal(rc, want_rc);
    if (rc == CC_OK) {
        assert_string_equal(ep.base, base);
        if (sock)
            assert_string_equal(ep.sock, sock);
        else
            assert_null(ep.sock);
        assert_int_equal(ep.tls, tls);
    } else {
        assert_null(ep.base);
        assert_true(strncmp(err, "DOCKER_HOST '", 13) == 0);
    }
    docker_endpoint_release(&ep);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    check_endpoint(NULL, 0, CC_OK, "http://localhost", "/var/run/docker.sock", 0);
    check_endpoint("", 1, CC_OK, "http://localhost", "/var/run/docker.sock", 0);
    check_endpoint("unix:///run/user/1000/docker.sock", 1, CC_OK, "http://localhost",
                   "/run/user/1000/docker.sock", 0);
    check_endpoint("tcp://10.0.0.5:2375", 0, CC_OK, "http://10.0.0.5:2375", NULL, 0);
    check_endpoint("tcp://10.0.0.5", 0, CC_OK, "http://10.0.0.5:2375", NULL, 0);
    check_endpoint("tcp://10.0.0.5", 1, CC_OK, "https://10.0.0.5:2376", NULL, 1);
    check_endpoint("tcp://docker.example.com:2376/prefix/", 1, CC_OK,
                   "https://docker.example.com:2376/prefix", NULL, 1);
    check_endpoint("tcp://[::1]:2375", 0, CC_OK, "http://[::1]:2375", NULL, 0);
    check_endpoint("tcp://[::1]", 0, CC_OK, "http://[::1]:2375", NULL, 0);
    check_endpoint("https://h:9999", 0, CC_OK, "https://h:9999", NULL, 1);
    check_endpoint("ssh://me@host", 0, CC_EINVAL, NULL, NULL, 0);
    check_endpoint("npipe:////./pipe/docker_engine", 0, CC_EINVAL, NULL, NULL, 0);
    check_endpoint("host:2375", 0, CC_EINVAL, NULL, NULL, 0);
    check_endpoint("unix://", 0, CC_EINVAL, NULL, NULL, 0);
    check_endpoint("tcp://", 0, CC_EINVAL, NULL, NULL, 0);
    check_endpoint("tcp://h:", 0, CC_EINVAL, NULL, NULL, 0);
    char longp[200] = "unix:///";
    memset(longp + 8, 'a', 120);
    check_endpoint(longp, 0, CC_EINVAL, NULL, NULL, 0);

    struct docker_endpoint ep;
    char err[ERRLEN];
    docker_endpoint_parse("ssh://me@host", 0, &ep, err, sizeof err);
    assert_non_null(strstr(err, "ssh:// is not supported"));
}

static void test_version_cmp(void **state)
{
    (void)state;
    assert_int_equal(docker_version_cmp("1.41", "1.41"), 0);
    assert_true(docker_version_cmp("1.9", "1.41") < 0);
    assert_true(docker_version_cmp("1.47", "1.41") > 0);
    assert_true(docker_version_cmp("v1.52", "1.47") > 0);
    assert_true(docker_version_cmp("2.0", "1.99") > 0);
    assert_int_equal(docker_version_cmp("junk", "0.0"), 0);
}

static int count_line(const char *line, size_t len, void *ctx)
{
    struct strbuf *sb = ctx;
    strbuf_add(sb, "[", 1);
    strbuf_add(sb, line, len);
    strbuf_add(sb, "]", 1);
    return len == 4 && memcmp(line, "stop", 4) == 0;
}

static void test_jsonl(void **state)
{
    (void)state;
    static const char data[] = "one\ntwo\n\nthree";
    for (size_t chunk = 1; chunk <= sizeof data; chunk++) {
        struct jsonl j = {0};
        struct strbuf got = {0};
        for (size_t off = 0; off < sizeof data - 1; off += chunk)
            assert_int_equal(jsonl_feed(&j, data + off, off + chunk < sizeof data - 1 ? chunk : sizeof data - 1 - off,
                                        count_line, &got), 0);
        jsonl_finish(&j, count_line, &got);
        assert_string_equal(got.buf, "[one][two][][three]");
        jsonl_release(&j);
        strbuf_release(&got);
    }
    struct jsonl j = {0};
    struct strbuf got = {0};
    assert_int_equal(jsonl_feed(&j, "a\nstop\nb\n", 9, count_line, &got), 1);
    assert_string_equal(got.buf, "[a][stop]");
    jsonl_release(&j);
    strbuf_release(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_plain_lines_any_chunking),
        cmocka_unit_test(test_pull_error_inside_200_stream),
        cmocka_unit_test(test_pull_error_only_error_field_and_no_final_newline),
        cmocka_unit_test(test_pull_retry_ticks_once),
        cmocka_unit_test(test_pull_silent),
        cmocka_unit_test(test_progress_line_format),
        cmocka_unit_test(test_pull_tty_redraws_in_place),
        cmocka_unit_test(test_build_stream),
        cmocka_unit_test(test_demux_frames_straddling_chunks),
        cmocka_unit_test(test_demux_stop_raw_and_errors),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_image_ref_split),
        cmocka_unit_test(test_image_registry),
        cmocka_unit_test(test_registry_auth),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_version_cmp),
    };
    return cmocka_run_group_tests_name("docker_stream", tests, NULL, NULL);
}
