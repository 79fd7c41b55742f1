/* manifest_service: the `services:` section, with docker compose's key names and
 * meanings plus cdcctl's `files` and `external`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest_priv.h"

static int has_service(const struct mctx *c, const char *name)
{
    for (size_t i = 0; i < c->services->n; i++)
        if (!strcmp(c->services->keys[i]->text, name))
            return 1;
    return 0;
}

/* ---- image, build, command ---- */

static int k_image(struct mctx *c, struct ynode *v, struct service *s)
{
    if (mstr(c, v, &s->image) != CC_OK)
        return CC_EINVAL;
    if (s->image && (!*s->image || strpbrk(s->image, " \t\n")))
        return merr(c, v->pos, "bad image reference \"%s\"", s->image);
    return CC_OK;
}

static int k_build(struct mctx *c, struct ynode *v, struct service *s)
{
    char *ctx = NULL;
    struct ynode *ctx_node = v;
    struct build_spec *b = s->build = xcalloc(1, sizeof *s->build);
    if (v->type == YN_SCALAR) {
        if (mstr_req(c, v, &ctx) != CC_OK)
            return CC_EINVAL;
    } else if (v->type == YN_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            const char *key = v->keys[i]->text;
            size_t old = mpath_key(c, key);
            int rc;
            if (!strcmp(key, "context")) {
                free(ctx);
                ctx_node = v->vals[i];
                rc = mstr_req(c, v->vals[i], &ctx);
            } else if (!strcmp(key, "dockerfile")) {
                rc = mstr_req(c, v->vals[i], &b->dockerfile);
            } else if (!strncmp(key, "x-", 2)) {
                rc = CC_OK;
            } else {
                rc = merr(c, v->keys[i]->pos, "unknown key (build takes context and dockerfile)");
            }
            if (rc != CC_OK) {
                free(ctx);
                return rc;
            }
            mpath_pop(c, old);
        }
    } else {
        return merr(c, v->pos, "expected a path or a mapping {context, dockerfile}, got %s", ykind(v));
    }
    if (!b->dockerfile)
        b->dockerfile = xstrdup("Dockerfile");
    if (!ctx)
        ctx = xstrdup(".");
    int rc = CC_OK;
    if (!strcmp(ctx, EMBEDDED_PREFIX "consumer") || c->m->builtin) {
        b->embedded = 1;
    } else if (!strncmp(ctx, EMBEDDED_PREFIX, strlen(EMBEDDED_PREFIX))) {
        if (ctx_node != v) /* written as {context: ...} */
            mpath_key(c, "context");
        rc = merr(c, ctx_node->pos, "unknown embedded build context \"%s\" (cdcctl carries only embedded:consumer)", ctx);
    } else if (strstr(ctx, "://") || !strncmp(ctx, "git@", 4)) {
        rc = merr(c, v->pos, "remote build context \"%s\" is not supported: use a local directory", ctx);
    } else {
        struct stat st;
        b->context = mpath_join(c->dir, ctx);
        if (stat(b->context, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = merr(c, v->pos, "build context \"%s\" is not a directory", b->context);
    }
    free(ctx);
    return rc;
}

static int read_cmd(struct mctx *c, struct ynode *v, int *has, struct strlist *l)
{
    if (yis_null(v))
        return CC_OK;
    *has = 1;
    if (v->type == YN_SEQ)
        return mstrlist(c, v, l);
    if (v->type != YN_SCALAR)
        return merr(c, v->pos, "expected a string or a list, got %s", ykind(v));
    const char *text;
    char why[128];
    if (mscalar(c, v, &text) != CC_OK)
        return CC_EINVAL;
    if (shell_split(text, l, why, sizeof why) != CC_OK)
        return merr(c, v->pos, "cannot split \"%s\" into words: %s", text, why);
    return CC_OK;
}

static int k_command(struct mctx *c, struct ynode *v, struct service *s)
{
    return read_cmd(c, v, &s->has_command, &s->command);
}

static int k_entrypoint(struct mctx *c, struct ynode *v, struct service *s)
{
    return read_cmd(c, v, &s->has_entrypoint, &s->entrypoint);
}

/* ---- environment, labels, extra_hosts ---- */

/* Map or list ("K=V" / "K") of strings. null_value: what a null/"K" entry becomes
 * (NULL for environment, "" for labels). */
static int read_kv(struct mctx *c, struct ynode *v, struct kvlist *out, const char *null_value)
{
    if (yis_null(v))
        return CC_OK;
    if (v->type == YN_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            const char *key = v->keys[i]->text;
            struct ynode *val = v->vals[i];
            size_t old = mpath_key(c, key);
            char *s = NULL;
            if (!*key || strchr(key, '='))
                return merr(c, v->keys[i]->pos, "bad name \"%s\"", key);
            if (val->type != YN_SCALAR)
                return merr(c, val->pos, "expected a string, got %s", ykind(val));
            if (mstr(c, val, &s) != CC_OK)
                return CC_EINVAL;
            if (!s && null_value)
                s = xstrdup(null_value);
            kvlist_set(out, xstrdup(key), s);
            mpath_pop(c, old);
        }
        return CC_OK;
    }
    if (v->type != YN_SEQ)
        return merr(c, v->pos, "expected a mapping or a list of \"KEY=value\", got %s", ykind(v));
    for (size_t i = 0; i < v->n; i++) {
        struct ynode *it = v->vals[i];
        size_t old = mpath_idx(c, i);
        const char *text;
        if (yis_null(it) || it->type != YN_SCALAR)
            return merr(c, it->pos, "expected \"KEY=value\", got %s", ykind(it));
        if (mscalar(c, it, &text) != CC_OK)
            return CC_EINVAL;
        const char *eq = strchr(text, '=');
        size_t klen = eq ? (size_t)(eq - text) : strlen(text);
        if (!klen)
            return merr(c, it->pos, "bad entry \"%s\": expected KEY=value", text);
        kvlist_set(out, xstrndup(text, klen),
                   eq ? xstrdup(eq + 1) : (null_value ? xstrdup(null_value) : NULL));
        mpath_pop(c, old);
    }
    return CC_OK;
}

static int k_environment(struct mctx *c, struct ynode *v, struct service *s)
{
    return read_kv(c, v, &s->environment, NULL);
}

static int k_labels(struct mctx *c, struct ynode *v, struct service *s)
{
    return read_kv(c, v, &s->labels, "");
}

static int add_extra_host(struct mctx *c, struct ynode *at, const char *host, const char *ip,
                          const char *as_written, struct service *s)
{
    char *addr = xstrdup(ip);
    size_t alen = strlen(addr);
    if (alen > 2 && addr[0] == '[' && addr[alen - 1] == ']') {
        memmove(addr, addr + 1, alen - 2);
        addr[alen - 2] = '\0';
    }
    if (!*host || strpbrk(host, " \t:=") || !(mis_ip(addr, 1) || !strcmp(addr, "host-gateway"))) {
        free(addr);
        return merr(c, at->pos, "bad extra host \"%s\": expected host:ip (or host=ip; ip may be host-gateway)", as_written);
    }
    char *entry = xmalloc(strlen(host) + strlen(addr) + 2);
    sprintf(entry, "%s:%s", host, addr);
    free(addr);
    strlist_add(&s->extra_hosts, entry);
    return CC_OK;
}

static int k_extra_hosts(struct mctx *c, struct ynode *v, struct service *s)
{
    if (yis_null(v))
        return CC_OK;
    if (v->type == YN_MAP) {
        for (size_t i = 0; i < v->n; i++) {
            const char *ip;
            size_t old = mpath_key(c, v->keys[i]->text);
            if (mscalar(c, v->vals[i], &ip) != CC_OK)
                return CC_EINVAL;
            if (add_extra_host(c, v->vals[i], v->keys[i]->text, ip, ip, s) != CC_OK)
                return CC_EINVAL;
            mpath_pop(c, old);
        }
        return CC_OK;
    }
    if (v->type != YN_SEQ)
        return merr(c, v->pos, "expected a list of \"host:ip\" or a mapping, got %s", ykind(v));
    for (size_t i = 0; i < v->n; i++) {
        const char *text;
        size_t old = mpath_idx(c, i);
        if (mscalar(c, v->vals[i], &text) != CC_OK)
            return CC_EINVAL;
        const char *sep = strchr(text, '=');
        if (!sep)
            sep = strchr(text, ':');
        if (!sep)
            return merr(c, v->vals[i]->pos, "bad extra host \"%s\": expected host:ip", text);
        char *host = xstrndup(text, (size_t)(sep - text));
        int rc = add_extra_host(c, v->vals[i], host, sep + 1, text, s);
        free(host);
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    return CC_OK;
}

/* ---- depends_on ---- */

static int add_dep(struct mctx *c, struct ynode *at, const char *name, enum dep_condition cond,
                   struct service *s)
{
    if (!has_service(c, name))
        return merr(c, at->pos, "unknown service \"%s\"", name);
    for (size_t i = 0; i < s->ndepends; i++)
        if (!strcmp(s->depends_on[i].service, name))
            return merr(c, at->pos, "\"%s\" is listed twice", name);
    s->depends_on = xrealloc(s->depends_on, (s->ndepends + 1) * sizeof *s->depends_on);
    struct dependency *d = &s->depends_on[s->ndepends++];
    d->service = xstrdup(name);
    d->condition = cond;
    d->pos = at->pos;
    return CC_OK;
}

static int k_depends_on(struct mctx *c, struct ynode *v, struct service *s)
{
    if (yis_null(v))
        return CC_OK;
    if (v->type == YN_SEQ) {
        for (size_t i = 0; i < v->n; i++) {
            char *name = NULL;
            size_t old = mpath_idx(c, i);
            if (mstr_req(c, v->vals[i], &name) != CC_OK)
                return CC_EINVAL;
            int rc = add_dep(c, v->vals[i], name, DEP_STARTED, s);
            free(name);
            if (rc != CC_OK)
                return rc;
            mpath_pop(c, old);
        }
        return CC_OK;
    }
    if (v->type != YN_MAP)
        return merr(c, v->pos, "expected a list of services or a mapping, got %s", ykind(v));
    for (size_t i = 0; i < v->n; i++) {
        struct ynode *val = v->vals[i];
        enum dep_condition cond = DEP_STARTED;
        size_t old = mpath_key(c, v->keys[i]->text);
        if (!yis_null(val)) {
            if (mexpect(c, val, YN_MAP) != CC_OK)
                return CC_EINVAL;
            for (size_t j = 0; j < val->n; j++) {
                const char *key = val->keys[j]->text;
                size_t o2 = mpath_key(c, key);
                const char *text;
                int b;
                if (!strcmp(key, "condition")) {
                    if (mscalar(c, val->vals[j], &text) != CC_OK)
                        return CC_EINVAL;
                    if (!strcmp(text, "service_started"))
                        cond = DEP_STARTED;
                    else if (!strcmp(text, "service_healthy"))
                        cond = DEP_HEALTHY;
                    else if (!strcmp(text, "service_completed_successfully"))
                        cond = DEP_COMPLETED;
                    else
                        return merr(c, val->vals[j]->pos, "bad condition \"%s\": use service_started, service_healthy or service_completed_successfully", text);
                } else if (!strcmp(key, "required") || !strcmp(key, "restart")) {
                    if (mbool(c, val->vals[j], &b) != CC_OK)
                        return CC_EINVAL;
                } else if (strncmp(key, "x-", 2)) {
                    return merr(c, val->keys[j]->pos, "unknown key (depends_on takes condition, required, restart)");
                }
                mpath_pop(c, o2);
            }
        }
        if (add_dep(c, v->keys[i], v->keys[i]->text, cond, s) != CC_OK)
            return CC_EINVAL;
        mpath_pop(c, old);
    }
    return CC_OK;
}

/* ---- healthcheck, restart, ulimits ---- */

static int k_healthcheck(struct mctx *c, struct ynode *v, struct service *s)
{
    struct healthcheck *h = &s->healthcheck;
    struct ynode *test_node = NULL;
    int64_t n;
    h->set = 1;
    if (yis_null(v))
        return CC_OK;
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t old = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "test")) {
            test_node = val;
            if (val->type == YN_SCALAR && !yis_null(val)) {
                const char *text;
                rc = mscalar(c, val, &text);
                if (rc == CC_OK && !*text)
                    rc = merr(c, val->pos, "test must not be empty");
                if (rc == CC_OK) {
                    strlist_add(&h->test, xstrdup("CMD-SHELL"));
                    strlist_add(&h->test, xstrdup(text));
                }
            } else {
                rc = mstrlist(c, val, &h->test);
                const char *first = h->test.n ? h->test.items[0] : "";
                if (rc != CC_OK)
                    ;
                else if (!strcmp(first, "NONE")) {
                    if (h->test.n != 1)
                        rc = merr(c, val->pos, "[\"NONE\"] takes no arguments");
                    h->disable = 1;
                    strlist_free(&h->test);
                } else if (!strcmp(first, "CMD")) {
                    if (h->test.n < 2)
                        rc = merr(c, val->pos, "[\"CMD\", ...] needs a command");
                } else if (!strcmp(first, "CMD-SHELL")) {
                    if (h->test.n != 2)
                        rc = merr(c, val->pos, "[\"CMD-SHELL\", \"command\"] takes exactly one string");
                } else {
                    rc = merr(c, val->pos, "a test list must start with \"CMD\", \"CMD-SHELL\" or \"NONE\"");
                }
            }
        } else if (!strcmp(key, "interval")) {
            rc = mduration(c, val, &h->interval_ns);
        } else if (!strcmp(key, "timeout")) {
            rc = mduration(c, val, &h->timeout_ns);
        } else if (!strcmp(key, "start_period")) {
            rc = mduration(c, val, &h->start_period_ns);
        } else if (!strcmp(key, "start_interval")) {
            int64_t ignored;
            rc = mduration(c, val, &ignored);
        } else if (!strcmp(key, "retries")) {
            rc = mint(c, val, 0, 1000000, &n);
            h->retries = (int)n;
        } else if (!strcmp(key, "disable")) {
            int b = 0;
            rc = mbool(c, val, &b);
            if (b)
                h->disable = 1;
        } else if (strncmp(key, "x-", 2)) {
            rc = merr(c, v->keys[i]->pos, "unknown key (healthcheck takes test, interval, timeout, start_period, start_interval, retries, disable)");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    if (h->disable && h->test.n) {
        mpath_key(c, "test");
        return merr(c, test_node->pos, "test and disable: true cannot be used together");
    }
    return CC_OK;
}

static int k_restart(struct mctx *c, struct ynode *v, struct service *s)
{
    if (mstr_req(c, v, &s->restart) != CC_OK)
        return CC_EINVAL;
    const char *r = s->restart;
    if (!strcmp(r, "no")) {
        free(s->restart);
        s->restart = NULL;
        return CC_OK;
    }
    if (!strcmp(r, "always") || !strcmp(r, "unless-stopped") || !strcmp(r, "on-failure"))
        return CC_OK;
    if (!strncmp(r, "on-failure:", 11)) {
        int n;
        if (mparse_port_number(r + 11, &n) == 0 && n > 0)
            return CC_OK;
    }
    return merr(c, v->pos, "bad restart policy \"%s\": use no, always, on-failure[:N] or unless-stopped", r);
}

static int k_ulimits(struct mctx *c, struct ynode *v, struct service *s)
{
    static const char *const names[] = {"core",   "cpu",    "data",       "fsize",  "locks",
                                        "memlock", "msgqueue", "nice",    "nofile", "nproc",
                                        "rss",    "rtprio", "rttime",     "sigpending", "stack"};
    if (yis_null(v))
        return CC_OK;
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    s->ulimits = xcalloc(v->n ? v->n : 1, sizeof *s->ulimits);
    for (size_t i = 0; i < v->n; i++) {
        const char *name = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        struct ulimit *u = &s->ulimits[i];
        size_t old = mpath_key(c, name);
        int known = 0;
        for (size_t j = 0; j < sizeof names / sizeof *names; j++)
            known |= !strcmp(name, names[j]);
        if (!known)
            return merr(c, v->keys[i]->pos, "unknown ulimit (known: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)");
        u->name = xstrdup(name);
        s->nulimits = i + 1;
        if (val->type == YN_MAP) {
            int have_soft = 0, have_hard = 0;
            for (size_t j = 0; j < val->n; j++) {
                const char *key = val->keys[j]->text;
                size_t o2 = mpath_key(c, key);
                int rc;
                if (!strcmp(key, "soft")) {
                    rc = mint(c, val->vals[j], -1, INT64_MAX, &u->soft);
                    have_soft = 1;
                } else if (!strcmp(key, "hard")) {
                    rc = mint(c, val->vals[j], -1, INT64_MAX, &u->hard);
                    have_hard = 1;
                } else {
                    rc = merr(c, val->keys[j]->pos, "unknown key (a ulimit takes soft and hard)");
                }
                if (rc != CC_OK)
                    return rc;
                mpath_pop(c, o2);
            }
            if (!have_soft || !have_hard)
                return merr(c, val->pos, "both soft and hard are required");
        } else {
            if (mint(c, val, -1, INT64_MAX, &u->soft) != CC_OK)
                return CC_EINVAL;
            u->hard = u->soft;
        }
        if (u->hard != -1 && (u->soft == -1 || u->soft > u->hard))
            return merr(c, val->pos, "the soft limit must not exceed the hard limit");
        mpath_pop(c, old);
    }
    return CC_OK;
}

/* ---- user, working_dir, hostname, external, container_name ---- */

static int k_user(struct mctx *c, struct ynode *v, struct service *s)
{
    return mstr(c, v, &s->user);
}

static int k_working_dir(struct mctx *c, struct ynode *v, struct service *s)
{
    if (mstr(c, v, &s->working_dir) != CC_OK)
        return CC_EINVAL;
    if (s->working_dir && s->working_dir[0] != '/')
        return merr(c, v->pos, "working_dir must be an absolute path");
    return CC_OK;
}

static int k_hostname(struct mctx *c, struct ynode *v, struct service *s)
{
    if (mstr(c, v, &s->hostname) != CC_OK)
        return CC_EINVAL;
    if (s->hostname && (!*s->hostname || strpbrk(s->hostname, " \t/:")))
        return merr(c, v->pos, "bad hostname \"%s\"", s->hostname);
    return CC_OK;
}

static int k_external(struct mctx *c, struct ynode *v, struct service *s)
{
    if (mstr_req(c, v, &s->external) != CC_OK)
        return CC_EINVAL;
    if (!valid_hostport(s->external, 1))
        return merr(c, v->pos, "bad endpoint \"%s\": expected host:port", s->external);
    return CC_OK;
}

static int k_container_name(struct mctx *c, struct ynode *v, struct service *s)
{
    (void)v;
    return merr(c, v->pos, "not supported: cdcctl names containers %s-%s-1", c->m->project, s->name);
}

/* ---- the service ---- */

static const struct {
    const char *key;
    int (*fn)(struct mctx *c, struct ynode *v, struct service *s);
} service_keys[] = {
    {"image", k_image},
    {"build", k_build},
    {"command", k_command},
    {"entrypoint", k_entrypoint},
    {"environment", k_environment},
    {"ports", mk_ports},
    {"volumes", mk_volumes},
    {"depends_on", k_depends_on},
    {"healthcheck", k_healthcheck},
    {"restart", k_restart},
    {"ulimits", k_ulimits},
    {"labels", k_labels},
    {"extra_hosts", k_extra_hosts},
    {"user", k_user},
    {"working_dir", k_working_dir},
    {"hostname", k_hostname},
    {"container_name", k_container_name},
    {"files", mk_files},
    {"external", k_external},
};

/* Compose keys cdcctl does not implement: named in the error so users know why. */
static const char *const compose_only[] = {
    "networks", "network_mode", "deploy",   "profiles",     "env_file",    "expose",
    "cap_add",  "cap_drop",     "privileged", "logging",    "secrets",     "configs",
    "tmpfs",    "init",         "stop_grace_period", "stop_signal", "pull_policy", "platform",
    "shm_size", "devices",      "dns",      "links",        "sysctls",     "security_opt",
    "ipc",      "pid",          "mem_limit", "cpus",        "scale",       "tty",
    "stdin_open", "domainname", "mac_address", "read_only", "volumes_from", "group_add",
    "extends",  "develop",      "post_start", "pre_stop",   "attach",      "annotations",
    "runtime",  "userns_mode",  "cgroup_parent", "oom_score_adj", "labels_file", "external_links",
};

static int unknown_service_key(struct mctx *c, struct ynode *k)
{
    for (size_t i = 0; i < sizeof compose_only / sizeof *compose_only; i++)
        if (!strcmp(k->text, compose_only[i]))
            return merr(c, k->pos, "unknown key (compose's `%s` is not supported by cdcctl)", k->text);
    return merr(c, k->pos, "unknown key");
}

static int parse_service(struct mctx *c, struct ynode *key, struct ynode *v, struct service *s)
{
    s->name = xstrdup(key->text);
    s->pos = key->pos;
    if (!mvalid_name(s->name))
        return merr(c, key->pos, "invalid service name: use letters, digits, '_', '.' and '-', starting with a letter or digit");
    if (yis_null(v) || v->type != YN_MAP)
        return merr(c, yis_null(v) ? key->pos : v->pos, "expected a mapping of service keys (image, ...), got %s", ykind(v));
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->text;
        if (!strncmp(k, "x-", 2))
            continue;
        size_t old = mpath_key(c, k);
        size_t j = 0;
        while (j < sizeof service_keys / sizeof *service_keys && strcmp(service_keys[j].key, k))
            j++;
        if (j == sizeof service_keys / sizeof *service_keys)
            return unknown_service_key(c, v->keys[i]);
        if (service_keys[j].fn(c, v->vals[i], s) != CC_OK)
            return CC_EINVAL;
        mpath_pop(c, old);
    }
    if (!s->image && !s->build && !s->external)
        return merr(c, key->pos, "image is required (or build, or external)");
    if (!s->image && s->build) {
        struct strbuf b = {0};
        strbuf_addf(&b, "%s-", c->m->project);
        for (const char *p = s->name; *p; p++) {
            char ch = (char)tolower((unsigned char)*p);
            strbuf_add(&b, &ch, 1);
        }
        strbuf_adds(&b, ":local");
        s->image = strbuf_detach(&b);
    }
    return CC_OK;
}

int mparse_services(struct mctx *c, struct ynode *v)
{
    size_t old = mpath_key(c, "services");
    if (yis_null(v) || (v->type == YN_MAP && v->n == 0))
        return merr(c, v->pos, "at least one service is required");
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    c->services = v;
    c->m->services = xcalloc(v->n, sizeof *c->m->services);
    for (size_t i = 0; i < v->n; i++) {
        size_t o2 = mpath_key(c, v->keys[i]->text);
        c->m->nservices = i + 1;
        if (parse_service(c, v->keys[i], v->vals[i], &c->m->services[i]) != CC_OK)
            return CC_EINVAL;
        mpath_pop(c, o2);
    }
    mpath_pop(c, old);
    return CC_OK;
}
