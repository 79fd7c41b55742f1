/* stack: the endpoint resolver, `status` rows, `down` and `logs` (see stack.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "spec.h"
#include "stack.h"
#include "util.h"

#define TCP_CHECK_MS 1000 /* connect timeout for external services in status */

/* ---- container list and endpoints ---- */

static int list_by_project(struct docker *d, const char *project, struct docker_container_summary **c,
                           size_t *n, char *err, size_t errlen)
{
    char label[512];
    snprintf(label, sizeof label, "%s=%s", SPEC_LABEL_PROJECT, project);
    const char *labels[] = {label};
    json_t *arr = NULL;
    *c = NULL;
    *n = 0;
    int rc = docker_container_list(d, labels, 1, &arr, err, errlen);
    if (rc == CC_OK)
        rc = docker_container_summaries_parse(arr, c, n, err, errlen);
    json_decref(arr);
    return rc;
}

int stack_endpoints_load(struct docker *d, const struct manifest *m, struct stack_endpoints *ep,
                         char *err, size_t errlen)
{
    stack_endpoints_release(ep);
    ep->m = m;
    return list_by_project(d, m->project, &ep->c, &ep->n, err, errlen);
}

void stack_endpoints_release(struct stack_endpoints *ep)
{
    if (!ep)
        return;
    docker_container_summaries_free(ep->c, ep->n);
    ep->c = NULL;
    ep->n = 0;
}

static const struct docker_container_summary *summary_named(const struct stack_endpoints *ep,
                                                            const char *name)
{
    for (size_t i = 0; i < ep->n; i++)
        if (strcmp(ep->c[i].name, name) == 0)
            return &ep->c[i];
    return NULL;
}

/* "127.0.0.1:8080->80/tcp" or "[::1]:8080->80/tcp": the host part for container
 * port `port`/tcp, as a dialable "host:port". 0 when the entry is another port. */
static int match_port(const char *entry, int port, char *out, size_t outlen)
{
    const char *arrow = strstr(entry, "->");
    if (!arrow)
        return 0;
    char *end = NULL;
    long cport = strtol(arrow + 2, &end, 10);
    if (cport != port || !end || strcmp(end, "/tcp") != 0)
        return 0;
    const char *colon = NULL;
    for (const char *p = entry; p < arrow; p++)
        if (*p == ':')
            colon = p;
    if (!colon)
        return 0;
    char host[128];
    size_t hl = (size_t)(colon - entry);
    if (hl >= sizeof host)
        return 0;
    memcpy(host, entry, hl);
    host[hl] = '\0';
    const char *h = host;
    if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "[::]") == 0)
        h = "[::1]";
    snprintf(out, outlen, "%s:%.*s", h, (int)(arrow - colon - 1), colon + 1);
    return 1;
}

static int resolve(void *ctx, const struct service *svc, int container_port, char *out,
                   size_t outlen, char *err, size_t errlen)
{
    const struct stack_endpoints *ep = ctx;
    char *name = spec_container_name(ep->m->project, svc->name);
    const struct docker_container_summary *s = summary_named(ep, name);
    int rc = CC_ENOTFOUND;
    if (!s) {
        cc_errf(err, errlen, rc, "service %s has no container (%s); run cdcctl up", svc->name, name);
        goto out;
    }
    /* Prefer an IPv4 binding: what the default manifest publishes. */
    for (int pass = 0; pass < 2 && rc != CC_OK; pass++)
        for (size_t i = 0; i < s->nports && rc != CC_OK; i++)
            if ((s->ports[i][0] == '[') == pass && match_port(s->ports[i], container_port, out, outlen))
                rc = CC_OK;
    if (rc != CC_OK)
        cc_errf(err, errlen, rc, "service %s does not publish port %d (add \"127.0.0.1:%d:%d\" to its ports)",
                svc->name, container_port, container_port, container_port);
out:
    free(name);
    return rc;
}

struct endpoint_resolver stack_resolver(struct stack_endpoints *ep)
{
    struct endpoint_resolver r = {resolve, ep};
    return r;
}

/* ---- status ---- */

/* TCP connect to "host:port" within TCP_CHECK_MS. 1 when it connects. */
static int tcp_reachable(const char *endpoint)
{
    char host[256];
    const char *colon = strrchr(endpoint, ':');
    if (!colon || (size_t)(colon - endpoint) >= sizeof host)
        return 0;
    memcpy(host, endpoint, (size_t)(colon - endpoint));
    host[colon - endpoint] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0)
        return 0;
    int ok = 0;
    double deadline = now_monotonic() + TCP_CHECK_MS / 1000.0;
    for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            ok = 1;
        } else if (errno == EINPROGRESS) {
            int left = (int)((deadline - now_monotonic()) * 1000);
            struct pollfd pfd = {fd, POLLOUT, 0};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (left > 0 && poll(&pfd, 1, left) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                ok = 1;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return ok;
}

static int completes(const struct manifest *m, const char *service)
{
    for (size_t j = 0; j < m->nservices; j++)
        for (size_t k = 0; k < m->services[j].ndepends; k++)
            if (m->services[j].depends_on[k].condition == DEP_COMPLETED &&
                strcmp(m->services[j].depends_on[k].service, service) == 0)
                return 1;
    return 0;
}

/* "Up 5 minutes (healthy)" -> "5 minutes"; "Up About a minute" -> "about a minute". */
static char *uptime_of(const char *status)
{
    if (strncmp(status, "Up ", 3) != 0)
        return NULL;
    const char *s = status + 3, *e = strstr(s, " (");
    char *u = e ? xstrndup(s, (size_t)(e - s)) : xstrdup(s);
    if (strncmp(u, "About", 5) == 0)
        u[0] = 'a';
    if (strncmp(u, "Less than", 9) == 0)
        u[0] = 'l';
    return u;
}

static void service_row(const struct manifest *m, const struct service *svc,
                        const struct stack_endpoints *ep, struct status_table *t)
{
    json_t *extra = json_pack("{s:s}", "service", svc->name);
    if (svc->external) {
        int up = tcp_reachable(svc->external);
        json_object_set_new(extra, "endpoint", json_string(svc->external));
        status_add(t, "service", svc->name, "external", up ? "reachable" : "unreachable", svc->external,
                   extra, up);
        return;
    }
    char *cname = spec_container_name(m->project, svc->name);
    const struct docker_container_summary *s = ep ? summary_named(ep, cname) : NULL;
    json_object_set_new(extra, "container", json_string(cname));
    if (!s) {
        json_object_set_new(extra, "ports", json_array());
        status_add(t, "service", svc->name, "missing", "-", "no container (run cdcctl up)", extra, 0);
        free(cname);
        return;
    }
    struct strbuf detail = {0};
    json_t *ports = json_array();
    for (size_t i = 0; i < s->nports; i++) {
        json_array_append_new(ports, json_string(s->ports[i]));
        strbuf_addf(&detail, "%s%s", i ? " " : "ports ", s->ports[i]);
    }
    strbuf_addf(&detail, "%simage %s", detail.len ? ", " : "", s->image);
    char *uptime = uptime_of(s->status);
    int running = strcmp(s->state, "running") == 0;
    int exited = strcmp(s->state, "exited") == 0;
    int ok = running && (strcmp(s->health, "none") == 0 || strcmp(s->health, "healthy") == 0);
    if (uptime)
        strbuf_addf(&detail, ", up %s", uptime);
    if (exited) {
        int code = -1;
        sscanf(s->status, "Exited (%d)", &code);
        json_object_set_new(extra, "exit_code", json_integer(code));
        strbuf_addf(&detail, ", exit code %d", code);
        ok = code == 0 && completes(m, svc->name);
    }
    json_object_set_new(extra, "id", json_string(s->id));
    json_object_set_new(extra, "image", json_string(s->image));
    json_object_set_new(extra, "ports", ports);
    json_object_set_new(extra, "status", json_string(s->status));
    json_object_set_new(extra, "uptime", uptime ? json_string(uptime) : json_null());
    const char *health = strcmp(s->health, "none") == 0 ? "-" : s->health;
    status_add(t, "service", svc->name, s->state, health, detail.buf, extra, ok);
    strbuf_release(&detail);
    free(uptime);
    free(cname);
}

int stack_status(struct docker *d, const struct manifest *m, struct status_table *t,
                 struct stack_endpoints *ep, char *err, size_t errlen)
{
    struct stack_endpoints local = {0};
    struct stack_endpoints *e = ep ? ep : &local;
    if (d) {
        int rc = stack_endpoints_load(d, m, e, err, errlen);
        if (rc != CC_OK) {
            stack_endpoints_release(&local);
            return rc;
        }
    } else {
        e->m = m;
    }
    for (size_t i = 0; i < m->nservices; i++)
        service_row(m, &m->services[i], e, t);
    stack_endpoints_release(&local);
    return CC_OK;
}

/* ---- down ---- */

struct stop_job {
    const char *id;
    const char *name;
    int timeout;
    int volumes;
    int rc;
    char err[ERRLEN];
};

/* One Docker connection per thread: the client reuses one easy handle. */
static void *stop_job_run(void *arg)
{
    struct stop_job *j = arg;
    struct docker *d = NULL;
    j->rc = docker_open(&d, j->err, sizeof j->err);
    if (j->rc == CC_OK)
        j->rc = docker_container_stop(d, j->id, j->timeout, j->err, sizeof j->err);
    if (j->rc == CC_OK || j->rc == CC_ENOTFOUND)
        j->rc = docker_container_remove(d, j->id, 1, j->volumes, j->err, sizeof j->err);
    if (j->rc == CC_ENOTFOUND)
        j->rc = CC_OK;
    docker_close(d);
    return NULL;
}

/* Stop rank: 0 for services nothing depends on (stopped first), else one more
 * than the highest rank of a dependent. Containers of unknown services: 0. */
static size_t stop_rank(const struct manifest *m, const char *service)
{
    size_t n = m->nservices;
    size_t *rank = xcalloc(n ? n : 1, sizeof *rank);
    for (size_t round = 0; round < n; round++)
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < m->services[j].ndepends; k++)
                for (size_t i = 0; i < n; i++)
                    if (strcmp(m->services[i].name, m->services[j].depends_on[k].service) == 0 &&
                        rank[i] < rank[j] + 1)
                        rank[i] = rank[j] + 1;
    size_t r = 0;
    for (size_t i = 0; service && i < n; i++)
        if (strcmp(m->services[i].name, service) == 0)
            r = rank[i];
    free(rank);
    return r;
}

static void progress_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress_line(FILE *out, const char *fmt, ...)
{
    if (!out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

static int stop_containers(const struct manifest *m, struct docker_container_summary *c, size_t n,
                           int timeout, int volumes, FILE *progress, size_t *removed, char *err,
                           size_t errlen)
{
    struct stop_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    pthread_t *th = xcalloc(n ? n : 1, sizeof *th);
    size_t *rank = xcalloc(n ? n : 1, sizeof *rank);
    size_t maxrank = 0;
    int rc = CC_OK;
    for (size_t i = 0; i < n; i++) {
        rank[i] = stop_rank(m, docker_container_summary_label(&c[i], SPEC_LABEL_SERVICE));
        if (rank[i] > maxrank)
            maxrank = rank[i];
    }
    for (size_t r = 0; r <= maxrank && rc == CC_OK; r++) {
        for (size_t i = 0; i < n; i++) {
            if (rank[i] != r)
                continue;
            jobs[i] = (struct stop_job){c[i].id, c[i].name, timeout, volumes, CC_OK, ""};
            progress_line(progress, "stopping %s", c[i].name);
            if (pthread_create(&th[i], NULL, stop_job_run, &jobs[i]) != 0)
                stop_job_run(&jobs[i]), th[i] = 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (rank[i] != r)
                continue;
            if (th[i])
                pthread_join(th[i], NULL);
            if (jobs[i].rc != CC_OK) {
                if (rc == CC_OK)
                    cc_errf(err, errlen, CC_ERR, "removing %s: %s", c[i].name, jobs[i].err);
                rc = CC_ERR;
                continue;
            }
            progress_line(progress, "removed %s", c[i].name);
            (*removed)++;
        }
    }
    free(jobs);
    free(th);
    free(rank);
    return rc;
}

/* Names of the objects in a network/volume list answer (array, or {"Volumes":[...]}). */
static json_t *list_items(json_t *j)
{
    if (json_is_object(j))
        return json_object_get(j, "Volumes");
    return j;
}

int stack_down(struct docker *d, const struct manifest *m, int stop_timeout, int volumes,
               FILE *progress, struct stack_down_result *res, char *err, size_t errlen)
{
    struct docker_container_summary *c = NULL;
    size_t n = 0;
    json_t *nets = NULL, *vols = NULL;
    struct stack_down_result r = {0};
    char label[512];
    snprintf(label, sizeof label, "%s=%s", SPEC_LABEL_PROJECT, m->project);
    const char *labels[] = {label};
    int rc = list_by_project(d, m->project, &c, &n, err, errlen);
    if (rc == CC_OK)
        rc = stop_containers(m, c, n, stop_timeout, volumes, progress, &r.containers, err, errlen);
    if (rc == CC_OK)
        rc = docker_network_list(d, labels, 1, &nets, err, errlen);
    json_t *item;
    size_t i;
    json_array_foreach(rc == CC_OK ? list_items(nets) : NULL, i, item) {
        const char *name = json_string_value(json_object_get(item, "Name"));
        const char *id = json_string_value(json_object_get(item, "Id"));
        if (!name || !id)
            continue;
        rc = docker_network_remove(d, id, err, errlen);
        if (rc == CC_ENOTFOUND) {
            rc = CC_OK;
            continue;
        }
        if (rc != CC_OK)
            break;
        progress_line(progress, "removed network %s", name);
        r.networks++;
    }
    if (rc == CC_OK && volumes)
        rc = docker_volume_list(d, labels, 1, &vols, err, errlen);
    json_array_foreach(rc == CC_OK && volumes ? list_items(vols) : NULL, i, item) {
        const char *name = json_string_value(json_object_get(item, "Name"));
        if (!name)
            continue;
        rc = docker_volume_remove(d, name, err, errlen);
        if (rc == CC_ENOTFOUND) {
            rc = CC_OK;
            continue;
        }
        if (rc != CC_OK)
            break;
        progress_line(progress, "removed volume %s", name);
        r.volumes++;
    }
    if (rc == CC_OK && !r.containers && !r.networks && !r.volumes)
        progress_line(progress, "nothing to remove");
    if (res)
        *res = r;
    docker_container_summaries_free(c, n);
    json_decref(nets);
    json_decref(vols);
    return rc;
}

/* ---- logs ---- */

int stack_logs(struct docker *d, const struct manifest *m, const char *service, int tail,
               int follow, docker_log_cb cb, void *ctx, char *err, size_t errlen)
{
    const struct service *svc = manifest_service(m, service);
    if (!svc)
        return cc_errf(err, errlen, CC_ENOTFOUND, "no service '%s' in %s", service, m->path);
    if (svc->external)
        return cc_errf(err, errlen, CC_EINVAL,
                       "service %s is external (%s): cdcctl has no container log for it", service,
                       svc->external);
    char *cname = spec_container_name(m->project, service);
    json_t *j = NULL;
    struct docker_container_info info = {0};
    char e[ERRLEN];
    int rc = docker_container_inspect(d, cname, &j, e, sizeof e);
    if (rc == CC_ENOTFOUND) {
        cc_errf(err, errlen, rc, "service %s has no container (%s); run cdcctl up", service, cname);
        goto out;
    }
    if (rc == CC_OK)
        rc = docker_container_info_parse(j, &info, e, sizeof e);
    if (rc == CC_OK)
        rc = docker_container_logs(d, info.id, tail, follow, info.tty, cb, ctx, e, sizeof e);
    if (rc != CC_OK)
        cc_errf(err, errlen, rc == CC_ENOTFOUND ? CC_ERR : rc, "%s", e);
out:
    docker_container_info_clear(&info);
    json_decref(j);
    free(cname);
    return rc;
}
