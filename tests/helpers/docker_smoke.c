/* docker_smoke: a manual end-to-end check of the Docker client against the real
 * daemon (DOCKER_HOST or /var/run/docker.sock). It pings, creates a network and a
 * volume, builds an image (FROM the base image, plus a COPY) and creates a container
 * from it, uploads a file, starts it, waits for its healthcheck, reads and follows
 * its log, inspects and lists it, checks the error paths (name conflict, 404, pull
 * from an unreachable registry), and removes everything it made.
 *
 *   build/tests/helpers/docker_smoke [BASE_IMAGE]     (default cdcctl-test/busybox:1)
 *
 * When BASE_IMAGE is missing it is built from scratch out of /bin/busybox (package
 * busybox-static) through POST /build, and removed again at the end.
 * Everything it creates is named cdcctl-smoke-*. Exit 0 = all checks passed,
 * 77 = no daemon / no busybox (skip), 1 = a check failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker.h"
#include "docker_inspect.h"
#include "docker_stream.h"
#include "tarball.h"
#include "util.h"

#define NET "cdcctl-smoke-net"
#define VOL "cdcctl-smoke-vol"
#define CTR "cdcctl-smoke-c1"
#define BUILT "cdcctl-smoke/built:1"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: ");                                                                        \
        } else {                                                                                   \
            printf("FAIL: ");                                                                      \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

struct logbuf {
    struct strbuf out, errs;
    int chunks;
    int stop_after; /* 0 = never */
};

static int log_cb(int stream, const char *data, size_t len, void *ctx)
{
    struct logbuf *l = ctx;
    strbuf_add(stream == 2 ? &l->errs : &l->out, data, len);
    l->chunks++;
    return l->stop_after && l->chunks >= l->stop_after;
}

static void cleanup(struct docker *d, const char *base_created)
{
    char err[ERRLEN];
    docker_container_remove(d, CTR, 1, 1, err, sizeof err);
    docker_network_remove(d, NET, err, sizeof err);
    docker_volume_remove(d, VOL, err, sizeof err);
    docker_call(d, "DELETE", "/images/" BUILT "?force=1", NULL, NULL, NULL, err, sizeof err);
    if (base_created) {
        struct strbuf p = {0};
        strbuf_adds(&p, "/images/");
        strbuf_adds(&p, base_created);
        strbuf_adds(&p, "?force=1");
        docker_call(d, "DELETE", p.buf, NULL, NULL, NULL, err, sizeof err);
        strbuf_release(&p);
    }
}

/* Builds `tag` FROM scratch with /bin/busybox and links for the applets tests use
 * (no RUN step: the build must not need a network). */
static int build_base(struct docker *d, const char *tag, char *err, size_t errlen)
{
    static const char *applets[] = {"sh", "sleep", "cat", "echo", "ls", "wget", "nc", "true",
                                    "false", "test", "env", "id", "kill", "mkdir", "rm", "grep",
                                    "sed", "date", "hostname", "ps"};
    enum { NAPPLETS = sizeof applets / sizeof applets[0] };
    char *bb = NULL;
    size_t bblen = 0;
    int rc = read_file("/bin/busybox", &bb, &bblen, err, errlen);
    if (rc != CC_OK)
        return rc;
    static const char dockerfile[] = "FROM scratch\nCOPY bin /bin\nCMD [\"sh\"]\n";
    struct tar_entry e[2 + NAPPLETS] = {
        {.path = "Dockerfile", .data = dockerfile, .len = sizeof dockerfile - 1, .mode = 0644},
        {.path = "bin/busybox", .data = bb, .len = bblen, .mode = 0755},
    };
    char paths[NAPPLETS][32];
    for (size_t i = 0; i < NAPPLETS; i++) {
        snprintf(paths[i], sizeof paths[i], "bin/%s", applets[i]);
        e[2 + i].path = paths[i];
        e[2 + i].symlink = "busybox";
    }
    void *tar = NULL;
    size_t len = 0;
    rc = tarball_build(e, 2 + NAPPLETS, TARBALL_PARENT_DIRS, &tar, &len, err, errlen);
    free(bb);
    if (rc != CC_OK)
        return rc;
    rc = docker_image_build(d, tag, tar, len, "Dockerfile", NULL, stdout, err, errlen);
    free(tar);
    return rc;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "cdcctl-test/busybox:1";
    char err[ERRLEN], id[65] = "", id2[65] = "";
    struct docker *d = NULL;
    const char *base_created = NULL;
    json_t *j = NULL;
    int rc = docker_open(&d, err, sizeof err);
    if (rc != CC_OK) {
        printf("SKIP: %s\n", err);
        return 77;
    }
    printf("connected to %s, API %s\n", docker_host(d), docker_api_version(d));
    cleanup(d, NULL);

    /* the base image */
    rc = docker_image_inspect(d, base, &j, err, sizeof err);
    json_decref(j);
    j = NULL;
    if (rc == CC_ENOTFOUND) {
        CHECK(strstr(err, "No such image") != NULL, "inspect of a missing image is CC_ENOTFOUND: %s", err);
        if (access("/bin/busybox", R_OK) != 0) {
            printf("SKIP: %s is missing and /bin/busybox (busybox-static) is not installed\n", base);
            docker_close(d);
            return 77;
        }
        rc = build_base(d, base, err, sizeof err);
        CHECK(rc == CC_OK, "build %s from scratch: %s", base, rc ? err : "done");
        if (rc != CC_OK)
            goto out;
        base_created = base;
    } else {
        CHECK(rc == CC_OK, "image %s is present%s%s", base, rc ? ": " : "", rc ? err : "");
    }

    /* build: FROM base + COPY, with labels */
    {
        struct strbuf dockerfile = {0};
        strbuf_addf(&dockerfile, "FROM %s\nCOPY greeting.txt /greeting.txt\n", base);
        struct tar_entry e[] = {
            {.path = "build/Dockerfile.smoke", .data = dockerfile.buf, .len = dockerfile.len},
            {.path = "greeting.txt", .data = "built by cdcctl\n", .len = 16},
        };
        void *tar = NULL;
        size_t len = 0;
        json_t *labels = json_pack("{s:s}", "io.cdcctl.smoke", "yes");
        rc = tarball_build(e, 2, 0, &tar, &len, err, sizeof err);
        if (rc == CC_OK)
            rc = docker_image_build(d, BUILT, tar, len, "build/Dockerfile.smoke", labels, stdout, err,
                                    sizeof err);
        CHECK(rc == CC_OK, "build %s: %s", BUILT, rc ? err : "done");
        rc = docker_image_inspect(d, BUILT, &j, err, sizeof err);
        const char *lv = json_string_value(json_object_get(
            json_object_get(json_object_get(j, "Config"), "Labels"), "io.cdcctl.smoke"));
        CHECK(rc == CC_OK && lv && strcmp(lv, "yes") == 0, "built image carries the build label");
        json_decref(j);
        j = NULL;
        /* a failing build reports the builder's error */
        static const char bad[] = "FROM scratch\nCOPY missing.txt /x\n";
        struct tar_entry be[] = {{.path = "Dockerfile", .data = bad, .len = sizeof bad - 1}};
        free(tar);
        tar = NULL;
        rc = tarball_build(be, 1, 0, &tar, &len, err, sizeof err);
        if (rc == CC_OK)
            rc = docker_image_build(d, "cdcctl-smoke/bad:1", tar, len, NULL, NULL, NULL, err, sizeof err);
        CHECK(rc == CC_ERR && strstr(err, "missing.txt"), "failing build is CC_ERR: %s", err);
        free(tar);
        json_decref(labels);
        strbuf_release(&dockerfile);
    }

    /* network and volume (twice: the second create must be fine too) */
    json_t *labels = json_pack("{s:s,s:s}", "io.cdcctl.project", "cdcctl-smoke", "io.cdcctl.smoke", "yes");
    rc = docker_network_create(d, NET, labels, id, err, sizeof err);
    CHECK(rc == CC_OK && strlen(id) == 64, "create network %s: %s", NET, rc ? err : id);
    rc = docker_network_create(d, NET, labels, id2, err, sizeof err);
    CHECK(rc == CC_OK && strcmp(id, id2) == 0, "create network again is CC_OK with the same id%s%s",
          rc ? ": " : "", rc ? err : "");
    rc = docker_volume_create(d, VOL, labels, err, sizeof err);
    CHECK(rc == CC_OK, "create volume %s%s%s", VOL, rc ? ": " : "", rc ? err : "");
    rc = docker_volume_create(d, VOL, labels, err, sizeof err);
    CHECK(rc == CC_OK, "create volume again%s%s", rc ? ": " : "", rc ? err : "");
    json_decref(labels);

    /* container */
    json_t *body = json_pack(
        "{s:s, s:[s,s,s], s:{s:s, s:s}, s:{s:{}}, s:{s:[s,s], s:o, s:o},"
        " s:{s:s, s:{s:[{s:s,s:s}]}, s:[s]},"
        " s:{s:{s:{s:[s]}}}}",
        "Image", BUILT, "Cmd", "sh", "-c",
        "echo out-line; echo err-line >&2; cat /greeting.txt /etc/smoke/hello.txt; "
        "i=0; while [ $i -lt 300 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done",
        "Labels", "io.cdcctl.project", "cdcctl-smoke", "io.cdcctl.config-hash", "abc123",
        "ExposedPorts", "80/tcp",
        "Healthcheck", "Test", "CMD-SHELL", "test -f /etc/smoke/hello.txt", "Interval",
        json_integer(200000000), "StartPeriod", json_integer(0),
        "HostConfig", "NetworkMode", NET, "PortBindings", "80/tcp", "HostIp", "127.0.0.1", "HostPort", "",
        "Binds", VOL ":/data",
        "NetworkingConfig", "EndpointsConfig", NET, "Aliases", "smoke");
    CHECK(body != NULL, "create body packs");
    rc = docker_container_create(d, CTR, body, id, err, sizeof err);
    CHECK(rc == CC_OK && strlen(id) == 64, "create container %s: %s", CTR, rc ? err : id);
    rc = docker_container_create(d, CTR, body, id2, err, sizeof err);
    CHECK(rc == CC_ERR && strstr(err, "create container " CTR ": Conflict"),
          "second create is a conflict: %s", err);
    json_decref(body);

    /* inspect before start: no State.Health yet */
    struct docker_container_info ci = {0};
    rc = docker_container_inspect(d, id, &j, err, sizeof err);
    if (rc == CC_OK)
        rc = docker_container_info_parse(j, &ci, err, sizeof err);
    CHECK(rc == CC_OK && strcmp(ci.status, "created") == 0 && strcmp(ci.health, "none") == 0,
          "created container: status %s health %s", ci.status ? ci.status : "?", ci.health ? ci.health : "?");
    docker_container_info_clear(&ci);
    json_decref(j);
    j = NULL;

    /* upload a file (with parent directories) before the first start */
    {
        static const char hello[] = "hello from cdcctl\n";
        struct tar_entry e[] = {{.path = "/etc/smoke/hello.txt", .data = hello, .len = sizeof hello - 1,
                                 .mode = 0640, .uid = 1000, .gid = 1000}};
        void *tar = NULL;
        size_t len = 0;
        rc = tarball_build(e, 1, 0, &tar, &len, err, sizeof err);
        if (rc == CC_OK)
            rc = docker_container_put_archive(d, id, "/", tar, len, err, sizeof err);
        CHECK(rc == CC_OK, "upload /etc/smoke/hello.txt%s%s", rc ? ": " : "", rc ? err : "");
        rc = docker_container_put_archive(d, id, "/no/such/dir", tar, len, err, sizeof err);
        CHECK(rc == CC_ENOTFOUND, "upload into a missing directory is CC_ENOTFOUND: %s", err);
        free(tar);
    }

    rc = docker_container_start(d, id, err, sizeof err);
    CHECK(rc == CC_OK, "start%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_container_start(d, id, err, sizeof err);
    CHECK(rc == CC_OK, "start again (304) is CC_OK%s%s", rc ? ": " : "", rc ? err : "");

    /* wait for healthy */
    double end = now_monotonic() + 20;
    for (;;) {
        rc = docker_container_inspect(d, id, &j, err, sizeof err);
        if (rc == CC_OK)
            rc = docker_container_info_parse(j, &ci, err, sizeof err);
        json_decref(j);
        j = NULL;
        if (rc != CC_OK || strcmp(ci.health, "starting") != 0 || now_monotonic() > end)
            break;
        docker_container_info_clear(&ci);
        usleep(200000);
    }
    CHECK(rc == CC_OK && ci.running && strcmp(ci.status, "running") == 0 &&
              strcmp(ci.health, "healthy") == 0,
          "running and healthy: status %s health %s", ci.status ? ci.status : "?", ci.health ? ci.health : "?");
    CHECK(ci.nports == 1 && strncmp(ci.ports[0], "127.0.0.1:", 10) == 0 && strstr(ci.ports[0], "->80/tcp"),
          "published port %s", ci.nports ? ci.ports[0] : "(none)");
    const char *hash = docker_container_info_label(&ci, DOCKER_LABEL_CONFIG_HASH);
    CHECK(hash && strcmp(hash, "abc123") == 0, "config-hash label %s", hash ? hash : "(none)");
    CHECK(strcmp(ci.name, CTR) == 0 && strcmp(ci.id, id) == 0 && !ci.tty, "name %s, id, tty %d", ci.name, ci.tty);
    docker_container_info_clear(&ci);

    /* logs: all, demultiplexed */
    usleep(300000);
    struct logbuf lb = {0};
    rc = docker_container_logs(d, id, -1, 0, 0, log_cb, &lb, err, sizeof err);
    CHECK(rc == CC_OK && lb.out.buf && strstr(lb.out.buf, "out-line\nbuilt by cdcctl\nhello from cdcctl\n"),
          "stdout log has the lines and the uploaded file%s%s: %.80s", rc ? ": " : "", rc ? err : "",
          lb.out.buf ? lb.out.buf : "(none)");
    CHECK(lb.errs.buf && strcmp(lb.errs.buf, "err-line\n") == 0, "stderr log is exactly 'err-line'");
    strbuf_release(&lb.out);
    strbuf_release(&lb.errs);
    /* tail=1 */
    struct logbuf tb = {0};
    rc = docker_container_logs(d, id, 1, 0, 0, log_cb, &tb, err, sizeof err);
    CHECK(rc == CC_OK && tb.out.buf && strncmp(tb.out.buf, "tick ", 5) == 0 &&
              strchr(tb.out.buf, '\n') == tb.out.buf + tb.out.len - 1,
          "tail=1 gives one line: %s", tb.out.buf ? tb.out.buf : "(none)");
    strbuf_release(&tb.out);
    strbuf_release(&tb.errs);
    /* follow, stopped by the callback after 5 chunks */
    struct logbuf fb = {.stop_after = 5};
    double t0 = now_monotonic();
    rc = docker_container_logs(d, id, 0, 1, 0, log_cb, &fb, err, sizeof err);
    CHECK(rc == CC_OK && fb.chunks == 5, "follow stops when the callback says so (%d chunks, %.1fs)%s%s",
          fb.chunks, now_monotonic() - t0, rc ? ": " : "", rc ? err : "");
    strbuf_release(&fb.out);
    strbuf_release(&fb.errs);

    /* list by label */
    const char *filt[] = {"io.cdcctl.project=cdcctl-smoke", "io.cdcctl.config-hash"};
    rc = docker_container_list(d, filt, 2, &j, err, sizeof err);
    struct docker_container_summary *sums = NULL;
    size_t nsum = 0;
    if (rc == CC_OK)
        rc = docker_container_summaries_parse(j, &sums, &nsum, err, sizeof err);
    CHECK(rc == CC_OK && nsum == 1 && strcmp(sums[0].name, CTR) == 0 &&
              strcmp(sums[0].state, "running") == 0 && strcmp(sums[0].health, "healthy") == 0 &&
              sums[0].nports == 1,
          "list by label finds it: %zu entries, %s %s %s %s", nsum, nsum ? sums[0].name : "",
          nsum ? sums[0].state : "", nsum ? sums[0].health : "", nsum && sums[0].nports ? sums[0].ports[0] : "");
    docker_container_summaries_free(sums, nsum);
    json_decref(j);
    j = NULL;
    const char *nofilt[] = {"io.cdcctl.project=cdcctl-smoke-nothing"};
    rc = docker_container_list(d, nofilt, 1, &j, err, sizeof err);
    CHECK(rc == CC_OK && json_array_size(j) == 0, "list with another label finds nothing");
    json_decref(j);
    j = NULL;

    rc = docker_network_list(d, filt, 1, &j, err, sizeof err);
    CHECK(rc == CC_OK && json_array_size(j) == 1, "network list by label: %zu", json_array_size(j));
    json_decref(j);
    j = NULL;
    rc = docker_volume_list(d, filt, 1, &j, err, sizeof err);
    CHECK(rc == CC_OK && json_array_size(j) == 1, "volume list by label: %zu", json_array_size(j));
    json_decref(j);
    j = NULL;

    /* generic call */
    long status = 0;
    rc = docker_call(d, "GET", "/version", NULL, &status, &j, err, sizeof err);
    CHECK(rc == CC_OK && status == 200 && json_string_value(json_object_get(j, "Version")),
          "GET /version: Docker %s", json_string_value(json_object_get(j, "Version")));
    json_decref(j);
    j = NULL;

    /* rename, stop, remove */
    rc = docker_container_rename(d, id, CTR "-renamed", err, sizeof err);
    CHECK(rc == CC_OK, "rename%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_container_rename(d, id, CTR, err, sizeof err);
    CHECK(rc == CC_OK, "rename back%s%s", rc ? ": " : "", rc ? err : "");
    t0 = now_monotonic();
    rc = docker_container_stop(d, id, 1, err, sizeof err);
    CHECK(rc == CC_OK, "stop (t=1) in %.1fs%s%s", now_monotonic() - t0, rc ? ": " : "", rc ? err : "");
    rc = docker_container_stop(d, id, 1, err, sizeof err);
    CHECK(rc == CC_OK, "stop again (304) is CC_OK%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_container_inspect(d, id, &j, err, sizeof err);
    if (rc == CC_OK)
        rc = docker_container_info_parse(j, &ci, err, sizeof err);
    CHECK(rc == CC_OK && strcmp(ci.status, "exited") == 0, "exited with code %d", ci.exit_code);
    docker_container_info_clear(&ci);
    json_decref(j);
    j = NULL;
    rc = docker_container_remove(d, id, 0, 1, err, sizeof err);
    CHECK(rc == CC_OK, "remove%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_container_inspect(d, id, &j, err, sizeof err);
    CHECK(rc == CC_ENOTFOUND && j == NULL, "inspect after remove is CC_ENOTFOUND: %s", err);
    rc = docker_container_remove(d, id, 1, 1, err, sizeof err);
    CHECK(rc == CC_ENOTFOUND, "remove again is CC_ENOTFOUND: %s", err);

    rc = docker_network_remove(d, NET, err, sizeof err);
    CHECK(rc == CC_OK, "remove network%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_network_remove(d, NET, err, sizeof err);
    CHECK(rc == CC_ENOTFOUND, "remove network again is CC_ENOTFOUND: %s", err);
    rc = docker_volume_remove(d, VOL, err, sizeof err);
    CHECK(rc == CC_OK, "remove volume%s%s", rc ? ": " : "", rc ? err : "");
    rc = docker_volume_remove(d, VOL, err, sizeof err);
    CHECK(rc == CC_ENOTFOUND, "remove volume again is CC_ENOTFOUND: %s", err);

    /* a pull that cannot work: the daemon's message comes back */
    rc = docker_image_pull(d, "127.0.0.1:9/cdcctl-smoke/nothing:1", stdout, err, sizeof err);
    CHECK(rc == CC_ERR && strstr(err, "pull 127.0.0.1:9/cdcctl-smoke/nothing:1: "),
          "pull from an unreachable registry fails: %s", err);

out:
    cleanup(d, base_created);
    docker_close(d);
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
