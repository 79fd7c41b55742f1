/* stack: `up`, the reconcile of the manifest with what Docker runs.
 *
 * One ping (docker_open), one container list, image inspects only where the list
 * cannot tell the image ID, then per service in dependency order: keep / start /
 * recreate / create. A no-op `up` therefore costs two daemon round trips. */
#include "stack.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embedded.h"
#include "secret.h"
#include "spec.h"
#include "tarball.h"
#include "util.h"

#define POLL_S 0.3          /* inspect / list poll interval while waiting */
#define RECREATE_STOP_S 10  /* stop timeout for a container being replaced */
/* A container started by this `up` without a healthcheck must have been running
 * this long before it counts as ready, so one that exits at once is caught. */
#define SETTLE_S 0.2

enum action { ACT_KEEP, ACT_START, ACT_CREATE, ACT_RECREATE };

/* What `up` decided for one container service. */
struct plan {
    const struct service *svc;
    char *cname;      /* <project>-<service>-1 */
    char *image_ref;  /* image the container runs */
    char *image_id;   /* "sha256:..." */
    char hash[65];
    json_t *body;     /* create body incl. the hash label */
    const struct docker_container_summary *cur; /* the container named cname, or NULL */
    enum action act;
    char id[65];      /* container id once known */
    char **file_hash; /* svc->nfiles sha256 hex */
    char **secret;    /* svc->nfiles resolved `secret:` values (NULL for other files) */
    int completes;    /* a dependent waits for it with service_completed_successfully */
    double started;   /* now_monotonic() when this `up` started it, else 0 */
    /* Convergence runs one thread per changed service (guarded by shared.mu): */
    int worker;       /* a thread converges it */
    int done;         /* that thread finished */
    int failed;       /* ... without starting the container */
    pthread_t th;
};

/* What the convergence threads share. */
struct shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* signalled when a plan is done */
    pthread_mutex_t start_mu; /* serialises starts that pick random host ports */
    int abort;                /* a service failed: the others stop waiting */
    int rc;                   /* the first failure, with its text and culprit */
    char err[ERRLEN];
    struct stack_failure fail;
};

/* The state of one `up`. Convergence threads work on a shallow copy with their own
 * Docker connection (d) and failure slot (fail); plans and sh are shared. */
struct up {
    struct docker *d;
    struct shared *sh;
    const struct manifest *m;
    const struct stack_up_options *o;
    struct stack_failure *fail;
    double deadline;
    struct plan *plans;  /* m->nservices entries; svc NULL for external services */
    struct docker_container_summary *cur;
    size_t ncur;
    int infra_ready;     /* network and volumes ensured */
};

static void progress(const struct up *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct up *u, const char *fmt, ...)
{
    if (!u->o->progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    flockfile(u->o->progress); /* whole lines, also from convergence threads */
    vfprintf(u->o->progress, fmt, ap);
    fputc('\n', u->o->progress);
    fflush(u->o->progress);
    funlockfile(u->o->progress);
    va_end(ap);
}

int stack_needs_docker(const struct manifest *m)
{
    for (size_t i = 0; i < m->nservices; i++)
        if (!m->services[i].external)
            return 1;
    return 0;
}

static struct plan *plan_of(struct up *u, const char *service)
{
    for (size_t i = 0; i < u->m->nservices; i++)
        if (u->plans[i].svc && strcmp(u->plans[i].svc->name, service) == 0)
            return &u->plans[i];
    return NULL;
}

static void blame(struct up *u, const char *service)
{
    if (u->fail && !u->fail->service[0])
        snprintf(u->fail->service, sizeof u->fail->service, "%s", service);
}

/* 1 once another convergence thread failed (this one then stops quietly). */
static int aborted(struct up *u)
{
    if (!u->sh)
        return 0;
    pthread_mutex_lock(&u->sh->mu);
    int a = u->sh->abort;
    pthread_mutex_unlock(&u->sh->mu);
    return a;
}

/* ---- images ---- */

/* Image ID and the context-hash label of an image, from inspect. CC_ENOTFOUND when absent. */
static int image_info(struct docker *d, const char *ref, char **id, char **ctx_hash, char *err,
                      size_t errlen)
{
    json_t *j = NULL;
    int rc = docker_image_inspect(d, ref, &j, err, errlen);
    if (rc != CC_OK)
        return rc;
    const char *s = json_string_value(json_object_get(j, "Id"));
    *id = xstrdup(s ? s : "");
    if (ctx_hash) {
        json_t *labels = json_object_get(json_object_get(j, "Config"), "Labels");
        const char *h = json_string_value(json_object_get(labels, SPEC_LABEL_CONTEXT_HASH));
        *ctx_hash = h ? xstrdup(h) : NULL;
    }
    json_decref(j);
    return CC_OK;
}

/* The build context of svc as a tar, and its hash (over the tar and the Dockerfile name). */
static int build_context(const struct manifest *m, const struct service *svc, void **tar,
                         size_t *len, char hash[65], char *err, size_t errlen)
{
    const char *dockerfile = svc->build->dockerfile ? svc->build->dockerfile : "Dockerfile";
    if (svc->build->embedded || !svc->build->context) {
        const struct embedded_file *f = embedded_find("consumer-context.tar");
        if (!f)
            return cc_errf(err, errlen, CC_ERR, "service %s: the embedded build context is missing",
                           svc->name);
        *tar = xmalloc(f->len);
        memcpy(*tar, f->data, f->len);
        *len = f->len;
    } else {
        int rc = tarball_from_dir(svc->build->context, dockerfile, tar, len, err, errlen);
        if (rc != CC_OK)
            return rc;
    }
    (void)m;
    struct strbuf sb = {0};
    char th[65];
    sha256_hex(*tar, *len, th);
    strbuf_addf(&sb, "%s\n%s", th, dockerfile);
    sha256_hex(sb.buf, sb.len, hash);
    strbuf_release(&sb);
    return CC_OK;
}

static int ensure_build_image(struct up *u, struct plan *p, char *err, size_t errlen)
{
    const struct service *svc = p->svc;
    void *tar = NULL;
    size_t len = 0;
    char want[65];
    char *id = NULL, *have = NULL;
    json_t *labels = NULL;
    int rc = build_context(u->m, svc, &tar, &len, want, err, errlen);
    if (rc != CC_OK)
        goto out;
    /* The container list already says which image the container runs and (merged
     * into its labels) that image's context hash: no inspect when both still match. */
    if (p->cur && strcmp(p->cur->image, p->image_ref) == 0) {
        const char *h = docker_container_summary_label(p->cur, SPEC_LABEL_CONTEXT_HASH);
        if (h && strcmp(h, want) == 0) {
            p->image_id = xstrdup(p->cur->image_id);
            goto out;
        }
    }
    rc = image_info(u->d, p->image_ref, &id, &have, err, errlen);
    if (rc == CC_OK && have && strcmp(have, want) == 0) {
        p->image_id = id;
        id = NULL;
        goto out;
    }
    if (rc != CC_OK && rc != CC_ENOTFOUND)
        goto out;
    progress(u, "building %s for %s", p->image_ref, svc->name);
    labels = json_pack("{s:s}", SPEC_LABEL_CONTEXT_HASH, want);
    rc = docker_image_build(u->d, p->image_ref, tar, len,
                            svc->build->dockerfile ? svc->build->dockerfile : "Dockerfile", labels,
                            u->o->progress, err, errlen);
    if (rc != CC_OK)
        goto out;
    free(id);
    id = NULL;
    rc = image_info(u->d, p->image_ref, &id, NULL, err, errlen);
    if (rc != CC_OK)
        goto out;
    p->image_id = id;
    id = NULL;
out:
    free(tar);
    free(id);
    free(have);
    json_decref(labels);
    return rc;
}

static int ensure_pulled_image(struct up *u, struct plan *p, char *err, size_t errlen)
{
    char *id = NULL;
    int rc;
    if (u->o->pull == STACK_PULL_ALWAYS) {
        progress(u, "pulling %s", p->image_ref);
        if ((rc = docker_image_pull(u->d, p->image_ref, u->o->progress, err, errlen)) != CC_OK)
            return rc;
    } else if (p->cur && strcmp(p->cur->image, p->image_ref) == 0 && p->cur->image_id[0]) {
        /* The list shows the reference only while it still points at the container's
         * image (otherwise it shows the ID): the image is present and unchanged. */
        p->image_id = xstrdup(p->cur->image_id);
        return CC_OK;
    }
    rc = image_info(u->d, p->image_ref, &id, NULL, err, errlen);
    if (rc == CC_ENOTFOUND && u->o->pull != STACK_PULL_ALWAYS) {
        progress(u, "pulling %s", p->image_ref);
        if ((rc = docker_image_pull(u->d, p->image_ref, u->o->progress, err, errlen)) != CC_OK)
            return rc;
        rc = image_info(u->d, p->image_ref, &id, NULL, err, errlen);
    }
    if (rc != CC_OK)
        return rc;
    p->image_id = id;
    return CC_OK;
}

static int ensure_image(struct up *u, struct plan *p, char *err, size_t errlen)
{
    /* Another service may already have resolved the same image. */
    for (struct plan *q = u->plans; q < p; q++)
        if (q->svc && q->image_id && !q->svc->build && !p->svc->build &&
            strcmp(q->image_ref, p->image_ref) == 0) {
            p->image_id = xstrdup(q->image_id);
            return CC_OK;
        }
    char e[ERRLEN];
    int rc = p->svc->build ? ensure_build_image(u, p, e, sizeof e) : ensure_pulled_image(u, p, e, sizeof e);
    if (rc != CC_OK) /* the client's message names the image and what it tried */
        return cc_errf(err, errlen, CC_ERR, "service %s: %s", p->svc->name, e);
    return CC_OK;
}

/* ---- files ---- */

static int resolve_files(struct up *u, struct plan *p, char *err, size_t errlen)
{
    const struct service *svc = p->svc;
    p->file_hash = xcalloc(svc->nfiles ? svc->nfiles : 1, sizeof *p->file_hash);
    p->secret = xcalloc(svc->nfiles ? svc->nfiles : 1, sizeof *p->secret);
    for (size_t i = 0; i < svc->nfiles; i++) {
        const struct file_spec *f = &svc->files[i];
        char h[65];
        if (f->secret) {
            enum secret_origin origin;
            char path[4096], e[ERRLEN];
            if (!u->o->state_dir)
                return cc_errf(err, errlen, CC_ERR, "service %s: file %s: no state directory for secret %s",
                               svc->name, f->target, f->secret);
            if (secret_get(u->o->state_dir, f->secret, &p->secret[i], &origin, path, sizeof path, e,
                           sizeof e) != CC_OK)
                return cc_errf(err, errlen, CC_ERR, "service %s: secret %s: %s", svc->name, f->secret, e);
            if (origin == SECRET_GENERATED)
                progress(u, "generated secret %s in %s (set %s to choose your own)", f->secret, path,
                         f->secret);
            sha256_hex(p->secret[i], strlen(p->secret[i]), h);
        } else {
            sha256_hex(f->data ? (const void *)f->data : "", f->data ? f->len : 0, h);
        }
        p->file_hash[i] = xstrdup(h);
    }
    return CC_OK;
}

static int upload_files(struct up *u, struct plan *p, const char *id, char *err, size_t errlen)
{
    const struct service *svc = p->svc;
    if (!svc->nfiles)
        return CC_OK;
    struct tar_entry *e = xcalloc(svc->nfiles, sizeof *e);
    for (size_t i = 0; i < svc->nfiles; i++) {
        const struct file_spec *f = &svc->files[i];
        e[i].path = f->target;
        e[i].data = f->secret ? (const void *)p->secret[i] : (const void *)f->data;
        e[i].len = f->secret ? strlen(p->secret[i]) : (f->data ? f->len : 0);
        e[i].mode = f->mode ? f->mode : 0644;
        e[i].uid = (unsigned)f->uid;
        e[i].gid = (unsigned)f->gid;
    }
    void *tar = NULL;
    size_t len = 0;
    char why[ERRLEN];
    int rc = tarball_build(e, svc->nfiles, 0, &tar, &len, why, sizeof why);
    if (rc == CC_OK)
        rc = docker_container_put_archive(u->d, id, "/", tar, len, why, sizeof why);
    if (rc != CC_OK)
        cc_errf(err, errlen, CC_ERR, "service %s: uploading files: %s", svc->name, why);
    if (tar)
        explicit_bzero(tar, len);
    free(tar);
    free(e);
    return rc == CC_OK ? CC_OK : CC_ERR;
}

/* ---- states ---- */

/* "exited (exit code 1)", "running (unhealthy: <last probe output>)", ... */
static void describe(const struct docker_container_info *c, struct strbuf *sb)
{
    strbuf_adds(sb, c->status);
    if (strcmp(c->status, "exited") == 0 || strcmp(c->status, "dead") == 0 ||
        strcmp(c->status, "restarting") == 0) {
        strbuf_addf(sb, " (exit code %d%s%s%s", c->exit_code, c->oom_killed ? ", out of memory" : "",
                    c->error[0] ? ": " : "", c->error);
        if (c->restart_count > 0)
            strbuf_addf(sb, "; restarted %d time%s", c->restart_count, c->restart_count == 1 ? "" : "s");
        strbuf_adds(sb, ")");
        return;
    }
    if (strcmp(c->health, "unhealthy") == 0 || strcmp(c->health, "starting") == 0) {
        /* The last probe output, on one line. */
        struct strbuf out = {0};
        strbuf_adds(&out, c->health_output);
        for (size_t i = 0; i < out.len; i++)
            if (out.buf[i] == '\n' || out.buf[i] == '\r' || out.buf[i] == '\t')
                out.buf[i] = ' ';
        while (out.len && out.buf[out.len - 1] == ' ')
            out.buf[--out.len] = '\0';
        if (strcmp(c->health, "unhealthy") == 0)
            strbuf_addf(sb, " (unhealthy: %s)", out.len ? out.buf : "no probe output");
        else
            strbuf_addf(sb, " (health: starting%s%s)", out.len ? "; last probe: " : "",
                        out.len ? out.buf : "");
        strbuf_release(&out);
    }
}

static int inspect(struct up *u, const char *id, struct docker_container_info *c, char *err,
                   size_t errlen)
{
    json_t *j = NULL;
    int rc = docker_container_inspect(u->d, id, &j, err, errlen);
    if (rc == CC_OK)
        rc = docker_container_info_parse(j, c, err, errlen);
    json_decref(j);
    return rc;
}

/* Fails with "service S: <state>" + suffix, blaming S. */
static int fail_service(struct up *u, const char *service, const struct docker_container_info *c,
                        const char *suffix, char *err, size_t errlen)
{
    struct strbuf sb = {0};
    describe(c, &sb);
    blame(u, service);
    cc_errf(err, errlen, CC_ERR, "service %s: %s%s", service, sb.buf, suffix ? suffix : "");
    strbuf_release(&sb);
    return CC_ERR;
}

static const char *cond_name(enum dep_condition c)
{
    return c == DEP_HEALTHY ? "healthy" : c == DEP_COMPLETED ? "completed successfully" : "started";
}

/* 1 = met, 0 = not yet, -1 = can never be met (err filled). */
static int dep_state(struct up *u, const struct dependency *dep, const char *dependent,
                     const struct docker_container_info *c, char *err, size_t errlen)
{
    int exited = strcmp(c->status, "exited") == 0 || strcmp(c->status, "dead") == 0;
    char suffix[300];
    snprintf(suffix, sizeof suffix, "; %s needs it %s", dependent, cond_name(dep->condition));
    switch (dep->condition) {
    case DEP_STARTED:
        if (strcmp(c->status, "running") == 0 || (exited && c->exit_code == 0))
            return 1;
        if (exited)
            return fail_service(u, dep->service, c, suffix, err, errlen), -1;
        return 0;
    case DEP_HEALTHY:
        if (strcmp(c->health, "healthy") == 0 && strcmp(c->status, "running") == 0)
            return 1;
        if (exited || strcmp(c->health, "unhealthy") == 0)
            return fail_service(u, dep->service, c, suffix, err, errlen), -1;
        if (strcmp(c->status, "running") == 0 && strcmp(c->health, "none") == 0) {
            blame(u, dep->service);
            cc_errf(err, errlen, CC_ERR,
                    "service %s: has no healthcheck, but %s depends on it with service_healthy",
                    dep->service, dependent);
            return -1;
        }
        return 0;
    case DEP_COMPLETED:
        if (exited && c->exit_code == 0)
            return 1;
        if (exited)
            return fail_service(u, dep->service, c, suffix, err, errlen), -1;
        return 0;
    }
    return 0;
}

static int wait_dependencies(struct up *u, struct plan *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->svc->ndepends; i++) {
        const struct dependency *dep = &p->svc->depends_on[i];
        struct plan *q = plan_of(u, dep->service);
        if (!q || !q->id[0])
            continue; /* external: bootstrap checks it */
        int announced = 0;
        for (;;) {
            struct docker_container_info c = {0};
            int rc = inspect(u, q->id, &c, err, errlen);
            if (rc != CC_OK) {
                blame(u, dep->service);
                return rc;
            }
            int st = dep_state(u, dep, p->svc->name, &c, err, errlen);
            int timed_out = st == 0 && now_monotonic() >= u->deadline;
            if (timed_out) {
                char suffix[300];
                snprintf(suffix, sizeof suffix, "; not %s after %.0fs (%s waits for it)",
                         cond_name(dep->condition), u->o->timeout_s, p->svc->name);
                fail_service(u, dep->service, &c, suffix, err, errlen);
                st = -1;
            }
            docker_container_info_clear(&c);
            if (st < 0)
                return timed_out ? CC_ETIMEOUT : CC_ERR;
            if (st > 0)
                break;
            if (!announced) {
                progress(u, "waiting for %s (%s)", dep->service, cond_name(dep->condition));
                announced = 1;
            }
            if (aborted(u))
                return cc_errf(err, errlen, CC_ERR, "%s", "");
            sleep_seconds(POLL_S);
        }
    }
    return CC_OK;
}

/* ---- network, volumes, containers ---- */

static int ensure_infra(struct up *u, char *err, size_t errlen)
{
    if (u->infra_ready)
        return CC_OK;
    const char *project = u->m->project;
    char *net = spec_network_name(project);
    json_t *labels = spec_network_labels(project);
    int rc = docker_network_create(u->d, net, labels, NULL, err, errlen);
    json_decref(labels);
    free(net);
    for (size_t i = 0; rc == CC_OK && i < u->m->volumes.n; i++) {
        const char *key = u->m->volumes.items[i];
        char *name = spec_volume_name(project, key);
        labels = spec_volume_labels(project, key);
        rc = docker_volume_create(u->d, name, labels, err, errlen);
        json_decref(labels);
        free(name);
    }
    u->infra_ready = rc == CC_OK;
    return rc;
}

static int remove_container(struct up *u, const char *id, const char *name, int stop_timeout,
                            char *err, size_t errlen)
{
    int rc = docker_container_stop(u->d, id, stop_timeout, err, errlen);
    if (rc == CC_OK || rc == CC_ENOTFOUND)
        rc = docker_container_remove(u->d, id, 1, 0, err, errlen);
    if (rc == CC_ENOTFOUND)
        rc = CC_OK;
    if (rc != CC_OK) {
        char e[ERRLEN];
        snprintf(e, sizeof e, "%s", err);
        return cc_errf(err, errlen, CC_ERR, "removing %s: %s", name, e);
    }
    return CC_OK;
}

/* Creates the container (under `name`) and uploads its files; p->id gets its id. */
static int create_container(struct up *u, struct plan *p, const char *name, char *err, size_t errlen)
{
    char e[ERRLEN];
    int rc = docker_container_create(u->d, name, p->body, p->id, e, sizeof e);
    if (rc != CC_OK) {
        blame(u, p->svc->name);
        return cc_errf(err, errlen, CC_ERR, "service %s: creating %s: %s", p->svc->name, name, e);
    }
    if ((rc = upload_files(u, p, p->id, err, errlen)) != CC_OK) {
        /* Never leave a container without its files: the next `up` would find its
         * hash matching and start it as it is. */
        docker_container_remove(u->d, p->id, 1, 0, e, sizeof e);
        p->id[0] = '\0';
        blame(u, p->svc->name);
    }
    return rc;
}

static int converge_service(struct up *u, struct plan *p, char *err, size_t errlen)
{
    int rc;
    char e[ERRLEN];
    if (p->act == ACT_KEEP)
        return CC_OK;
    if ((rc = wait_dependencies(u, p, err, errlen)) != CC_OK)
        return rc;
    if (p->act == ACT_CREATE) {
        progress(u, "creating %s", p->cname);
        if ((rc = create_container(u, p, p->cname, err, errlen)) != CC_OK)
            return rc;
    } else if (p->act == ACT_RECREATE) {
        /* Like compose: create the replacement under a temporary name first, so a
         * create error leaves the old container in place. */
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%.12s_%s", p->cur->id, p->cname);
        progress(u, "recreating %s (configuration changed)", p->cname);
        if ((rc = create_container(u, p, tmp, err, errlen)) != CC_OK)
            return rc;
        if ((rc = remove_container(u, p->cur->id, p->cname, RECREATE_STOP_S, e, sizeof e)) != CC_OK ||
            (rc = docker_container_rename(u->d, p->id, p->cname, e, sizeof e)) != CC_OK) {
            blame(u, p->svc->name);
            return cc_errf(err, errlen, CC_ERR, "service %s: %s", p->svc->name, e);
        }
    } else {
        snprintf(p->id, sizeof p->id, "%s", p->cur->id);
        progress(u, "starting %s", p->cname);
    }
    /* Compose serialises starts "to prevent race condition in engine assigning
     * ports"; only random host ports can race, so only those starts wait here. */
    int random_port = 0;
    for (size_t i = 0; i < p->svc->nports; i++)
        random_port |= p->svc->ports[i].host_port == 0;
    if (random_port && u->sh)
        pthread_mutex_lock(&u->sh->start_mu);
    rc = docker_container_start(u->d, p->id, e, sizeof e);
    if (random_port && u->sh)
        pthread_mutex_unlock(&u->sh->start_mu);
    if (rc != CC_OK) {
        blame(u, p->svc->name);
        return cc_errf(err, errlen, CC_ERR, "service %s: starting %s: %s", p->svc->name, p->cname, e);
    }
    p->started = now_monotonic();
    progress(u, "started %s", p->cname);
    return CC_OK;
}

/* ---- parallel convergence ---- */

struct worker_arg {
    struct up *u;
    struct plan *p;
};

/* Waits until the threads converging p's dependencies are done. 0 = all started,
 * -1 = one failed (p is skipped quietly: that failure is reported). */
static int wait_dep_threads(struct up *u, const struct plan *p)
{
    int ok = 0;
    pthread_mutex_lock(&u->sh->mu);
    for (size_t i = 0; i < p->svc->ndepends && ok == 0; i++) {
        struct plan *q = plan_of(u, p->svc->depends_on[i].service);
        if (!q || !q->worker)
            continue;
        while (!q->done && !u->sh->abort)
            pthread_cond_wait(&u->sh->cv, &u->sh->mu);
        if (q->failed || u->sh->abort)
            ok = -1;
    }
    pthread_mutex_unlock(&u->sh->mu);
    return ok;
}

static void *converge_worker(void *arg)
{
    struct worker_arg *a = arg;
    struct up w = *a->u;
    struct stack_failure fail = {{0}};
    char err[ERRLEN] = "";
    w.fail = &fail;
    w.d = NULL;
    int rc = CC_ERR;
    if (wait_dep_threads(&w, a->p) == 0 && (rc = docker_open(&w.d, err, sizeof err)) == CC_OK)
        rc = converge_service(&w, a->p, err, sizeof err);
    docker_close(w.d);
    struct shared *sh = w.sh;
    pthread_mutex_lock(&sh->mu);
    a->p->done = 1;
    a->p->failed = rc != CC_OK;
    if (rc != CC_OK) {
        if (err[0] && sh->rc == CC_OK) { /* the first failure with a reason wins */
            sh->rc = rc;
            snprintf(sh->err, sizeof sh->err, "%s", err);
            sh->fail = fail;
        }
        sh->abort = 1;
    }
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

/* Converges every changed service, each in its own thread (with its own Docker
 * connection) that first waits for the threads of its dependencies, so independent
 * services are created and started at the same time, like compose does. */
static int converge_all(struct up *u, const size_t *order, char *err, size_t errlen)
{
    struct shared sh;
    memset(&sh, 0, sizeof sh);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    pthread_mutex_init(&sh.start_mu, NULL);
    size_t n = u->m->nservices;
    struct worker_arg *args = xcalloc(n ? n : 1, sizeof *args);
    u->sh = &sh;
    for (size_t i = 0; i < n; i++) {
        struct plan *p = &u->plans[order[i]];
        p->worker = p->svc && p->act != ACT_KEEP;
    }
    for (size_t i = 0; i < n; i++) {
        struct plan *p = &u->plans[order[i]];
        if (!p->worker)
            continue;
        args[i] = (struct worker_arg){u, p};
        if (pthread_create(&p->th, NULL, converge_worker, &args[i]) != 0) {
            /* No thread: converge in this one, after everything started so far. */
            for (size_t k = 0; k < i; k++)
                if (u->plans[order[k]].worker && !u->plans[order[k]].done) {
                    pthread_join(u->plans[order[k]].th, NULL);
                    u->plans[order[k]].worker = 2; /* joined */
                }
            converge_worker(&args[i]);
            p->worker = 2;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct plan *p = &u->plans[order[i]];
        if (p->worker == 1)
            pthread_join(p->th, NULL);
    }
    int rc = sh.rc;
    if (rc != CC_OK) {
        cc_errf(err, errlen, rc, "%s", sh.err);
        if (u->fail)
            *u->fail = sh.fail;
    }
    u->sh = NULL;
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.start_mu);
    free(args);
    return rc;
}

/* ---- readiness ---- */

/* From a list entry: 1 ready, 0 not yet, -1 failed. */
static int ready_state(const struct plan *p, const struct docker_container_summary *s)
{
    if (!s)
        return -1;
    if (strcmp(s->state, "running") == 0) {
        if (strcmp(s->health, "unhealthy") == 0)
            return -1;
        return strcmp(s->health, "starting") == 0 ? 0 : 1;
    }
    if (strcmp(s->state, "exited") == 0 || strcmp(s->state, "dead") == 0) {
        /* "Exited (0) 3 seconds ago" */
        if (p->completes && strncmp(s->status, "Exited (0)", 10) == 0)
            return 1;
        return -1;
    }
    if (strcmp(s->state, "paused") == 0)
        return -1;
    return 0; /* created, restarting, removing */
}

static const struct docker_container_summary *find_summary(struct docker_container_summary *c,
                                                           size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return &c[i];
    return NULL;
}

static int list_project(struct up *u, char *err, size_t errlen)
{
    docker_container_summaries_free(u->cur, u->ncur);
    u->cur = NULL;
    u->ncur = 0;
    char label[512];
    snprintf(label, sizeof label, "%s=%s", SPEC_LABEL_PROJECT, u->m->project);
    const char *labels[] = {label};
    json_t *arr = NULL;
    int rc = docker_container_list(u->d, labels, 1, &arr, err, errlen);
    if (rc == CC_OK)
        rc = docker_container_summaries_parse(arr, &u->cur, &u->ncur, err, errlen);
    json_decref(arr);
    return rc;
}

/* Containers this `up` started that the daemon already had to restart are ready
 * now, but say so: a crash loop is otherwise invisible without a healthcheck. */
static void warn_restarts(struct up *u)
{
    for (size_t i = 0; i < u->m->nservices; i++) {
        const struct plan *p = &u->plans[i];
        if (!p->svc || p->started <= 0 || !p->svc->restart || strcmp(p->svc->restart, "no") == 0)
            continue;
        struct docker_container_info c = {0};
        char e[ERRLEN];
        if (inspect(u, p->id, &c, e, sizeof e) == CC_OK && c.restart_count > 0)
            progress(u, "warning: %s restarted %d time%s while starting (last exit code %d); "
                        "see cdcctl logs %s",
                     p->cname, c.restart_count, c.restart_count == 1 ? "" : "s", c.exit_code,
                     p->svc->name);
        docker_container_info_clear(&c);
    }
}

static int wait_ready(struct up *u, char *err, size_t errlen)
{
    int announced = 0;
    for (;;) {
        const struct plan *pending = NULL;
        const char *pending_health = NULL;
        double settle = 0; /* how long the last started containers still need */
        for (size_t i = 0; i < u->m->nservices; i++) {
            const struct plan *p = &u->plans[i];
            if (!p->svc)
                continue;
            const struct docker_container_summary *s = find_summary(u->cur, u->ncur, p->cname);
            int st = ready_state(p, s);
            if (st > 0 && p->started > 0 && strcmp(s->state, "running") == 0 &&
                strcmp(s->health, "none") == 0 && now_monotonic() < p->started + SETTLE_S) {
                double left = p->started + SETTLE_S - now_monotonic();
                if (left > settle)
                    settle = left;
                continue;
            }
            int timed_out = st == 0 && now_monotonic() >= u->deadline;
            if (st < 0 || timed_out) {
                if (!s) {
                    blame(u, p->svc->name);
                    return cc_errf(err, errlen, CC_ERR, "service %s: container %s disappeared",
                                   p->svc->name, p->cname);
                }
                struct docker_container_info c = {0};
                int rc = inspect(u, s->id, &c, err, errlen);
                if (rc == CC_OK) {
                    char suffix[128];
                    snprintf(suffix, sizeof suffix, "; not ready after %.0fs", u->o->timeout_s);
                    fail_service(u, p->svc->name, &c, timed_out ? suffix : NULL, err, errlen);
                }
                docker_container_info_clear(&c);
                return timed_out ? CC_ETIMEOUT : CC_ERR;
            }
            if (st == 0 && !pending) {
                pending = p;
                pending_health = s->health;
            }
        }
        if (!pending && settle <= 0) {
            warn_restarts(u);
            return CC_OK;
        }
        if (pending && !announced) {
            progress(u, "waiting for %s (%s)", pending->svc->name,
                     strcmp(pending_health, "starting") == 0 ? "healthy" : "running");
            announced = 1;
        }
        sleep_seconds(pending || settle > POLL_S ? POLL_S : settle);
        int rc = list_project(u, err, errlen);
        if (rc != CC_OK)
            return rc;
    }
}

/* ---- orchestration ---- */

static int is_container_service(const struct manifest *m, const char *name)
{
    const struct service *s = name ? manifest_service(m, name) : NULL;
    return s && !s->external;
}

/* Orphans (service not in the manifest any more, or now external) and extras
 * (a second container of a service, e.g. left by an interrupted recreate). */
static int handle_strays(struct up *u, char *err, size_t errlen)
{
    for (size_t i = 0; i < u->ncur; i++) {
        const struct docker_container_summary *s = &u->cur[i];
        const char *service = docker_container_summary_label(s, SPEC_LABEL_SERVICE);
        if (is_container_service(u->m, service)) {
            struct plan *p = plan_of(u, service);
            if (p && strcmp(p->cname, s->name) != 0) {
                progress(u, "removing %s (a second container of service %s)", s->name, service);
                if (remove_container(u, s->id, s->name, RECREATE_STOP_S, err, errlen) != CC_OK)
                    return CC_ERR;
            }
            continue;
        }
        if (!u->o->remove_orphans) {
            progress(u, "orphan container %s (service %s) is not in the manifest; "
                        "`cdcctl up --remove-orphans` removes it",
                     s->name, service ? service : "?");
            continue;
        }
        progress(u, "removing orphan container %s (service %s)", s->name, service ? service : "?");
        if (remove_container(u, s->id, s->name, RECREATE_STOP_S, err, errlen) != CC_OK)
            return CC_ERR;
    }
    return CC_OK;
}

static void plans_free(struct plan *plans, size_t n)
{
    for (size_t i = 0; plans && i < n; i++) {
        struct plan *p = &plans[i];
        free(p->cname);
        free(p->image_ref);
        free(p->image_id);
        json_decref(p->body);
        for (size_t k = 0; p->svc && k < p->svc->nfiles; k++) {
            if (p->file_hash)
                free(p->file_hash[k]);
            if (p->secret && p->secret[k]) {
                explicit_bzero(p->secret[k], strlen(p->secret[k]));
                free(p->secret[k]);
            }
        }
        free(p->file_hash);
        free(p->secret);
    }
    free(plans);
}

/* Images, file hashes, config hashes and the action of every container service. */
static int plan_services(struct up *u, char *err, size_t errlen)
{
    const struct manifest *m = u->m;
    for (size_t i = 0; i < m->nservices; i++) {
        const struct service *svc = &m->services[i];
        if (svc->external)
            continue;
        struct plan *p = &u->plans[i];
        p->svc = svc;
        p->cname = spec_container_name(m->project, svc->name);
        p->image_ref = spec_image_ref(m->project, svc);
        p->cur = find_summary(u->cur, u->ncur, p->cname);
        for (size_t j = 0; j < m->nservices; j++)
            for (size_t k = 0; k < m->services[j].ndepends; k++)
                if (m->services[j].depends_on[k].condition == DEP_COMPLETED &&
                    strcmp(m->services[j].depends_on[k].service, svc->name) == 0)
                    p->completes = 1;
    }
    for (size_t i = 0; i < m->nservices; i++) {
        struct plan *p = &u->plans[i];
        if (!p->svc)
            continue;
        int rc = ensure_image(u, p, err, errlen);
        if (rc == CC_OK)
            rc = resolve_files(u, p, err, errlen);
        if (rc != CC_OK)
            return rc;
        struct spec_ctx ctx = {0};
        ctx.project = m->project;
        ctx.image_id = p->image_id;
        ctx.file_hashes = (const char *const *)p->file_hash;
        p->body = spec_container(p->svc, &ctx, p->hash);
        const char *have = p->cur ? docker_container_summary_label(p->cur, SPEC_LABEL_HASH) : NULL;
        if (!p->cur)
            p->act = ACT_CREATE;
        else if (!have || strcmp(have, p->hash) != 0)
            p->act = ACT_RECREATE;
        else if (strcmp(p->cur->state, "running") == 0 || strcmp(p->cur->state, "paused") == 0 ||
                 strcmp(p->cur->state, "restarting") == 0 ||
                 (p->completes && strncmp(p->cur->status, "Exited (0)", 10) == 0))
            p->act = ACT_KEEP;
        else
            p->act = ACT_START;
        if (p->cur)
            snprintf(p->id, sizeof p->id, "%s", p->cur->id);
    }
    return CC_OK;
}

int stack_up(struct docker *d, const struct manifest *m, const struct stack_up_options *o,
             struct stack_endpoints *ep, struct stack_failure *fail, char *err, size_t errlen)
{
    struct up u = {0};
    size_t *order = NULL;
    int rc;
    u.d = d;
    u.m = m;
    u.o = o;
    u.fail = fail;
    if (fail)
        fail->service[0] = '\0';
    u.deadline = now_monotonic() + (o->timeout_s > 0 ? o->timeout_s : 300);
    u.plans = xcalloc(m->nservices ? m->nservices : 1, sizeof *u.plans);

    if ((rc = list_project(&u, err, errlen)) != CC_OK)
        goto out;
    if ((rc = plan_services(&u, err, errlen)) != CC_OK)
        goto out;
    if ((rc = handle_strays(&u, err, errlen)) != CC_OK)
        goto out;

    int changed = 0;
    order = xcalloc(m->nservices ? m->nservices : 1, sizeof *order);
    manifest_start_order(m, order);
    for (size_t i = 0; i < m->nservices; i++)
        changed |= u.plans[i].svc && u.plans[i].act != ACT_KEEP;
    if (changed && ((rc = ensure_infra(&u, err, errlen)) != CC_OK ||
                    (rc = converge_all(&u, order, err, errlen)) != CC_OK))
        goto out;
    /* Nothing changed: the first list already tells whether everything is ready. */
    if (changed && (rc = list_project(&u, err, errlen)) != CC_OK)
        goto out;
    if ((rc = wait_ready(&u, err, errlen)) != CC_OK)
        goto out;
    if (ep) {
        stack_endpoints_release(ep);
        ep->m = m;
        ep->c = u.cur;
        ep->n = u.ncur;
        u.cur = NULL;
        u.ncur = 0;
    }
out:
    free(order);
    plans_free(u.plans, m->nservices);
    docker_container_summaries_free(u.cur, u.ncur);
    return rc;
}
