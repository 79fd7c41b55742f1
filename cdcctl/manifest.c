/* manifest: loading, the top level and the tidb/ticdc/kafka/consumer sections,
 * cross-checks (dependency cycles), start order. Services are in manifest_service.c,
 * the YAML output in manifest_emit.c, the node tree in manifest_tree.c. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedded.h"
#include "manifest_priv.h"

#define BUILTIN_MANIFEST "manifests/shop.yaml"

/* ---- error and path helpers ---- */

int merr(struct mctx *c, struct mpos pos, const char *fmt, ...)
{
    if (c->failed)
        return CC_EINVAL;
    c->failed = 1;
    char why[ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (pos.line <= 0)
        pos.line = pos.column = 1;
    if (c->path.len)
        return cc_errf(c->err, c->errlen, CC_EINVAL, "%s:%d:%d: %s: %s", c->name, pos.line,
                       pos.column, c->path.buf, why);
    return cc_errf(c->err, c->errlen, CC_EINVAL, "%s:%d:%d: %s", c->name, pos.line, pos.column,
                   why);
}

size_t mpath_key(struct mctx *c, const char *key)
{
    size_t old = c->path.len;
    if (old)
        strbuf_adds(&c->path, ".");
    strbuf_adds(&c->path, key);
    return old;
}

size_t mpath_idx(struct mctx *c, size_t i)
{
    size_t old = c->path.len;
    strbuf_addf(&c->path, "[%zu]", i);
    return old;
}

void mpath_pop(struct mctx *c, size_t len)
{
    c->path.len = len;
    if (c->path.buf)
        c->path.buf[len] = '\0';
}

/* ---- typed readers ---- */

int yis_null(const struct ynode *n)
{
    if (!n || n->type != YN_SCALAR || !n->plain)
        return 0;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

static int looks_number(const char *t)
{
    if (*t == '-' || *t == '+')
        t++;
    if (!isdigit((unsigned char)*t))
        return 0;
    while (isdigit((unsigned char)*t) || *t == '.')
        t++;
    return *t == '\0';
}

const char *ykind(const struct ynode *n)
{
    if (n->type == YN_MAP)
        return "a mapping";
    if (n->type == YN_SEQ)
        return "a list";
    if (yis_null(n))
        return "null";
    if (n->plain && (!strcasecmp(n->text, "true") || !strcasecmp(n->text, "false")))
        return "a boolean";
    if (n->plain && looks_number(n->text))
        return "a number";
    return "a string";
}

int mexpect(struct mctx *c, const struct ynode *n, enum ynode_type t)
{
    static const char *const names[] = {"a string", "a mapping", "a list"};
    if (n->type == t)
        return CC_OK;
    return merr(c, n->pos, "expected %s, got %s", names[t], ykind(n));
}

int mscalar(struct mctx *c, struct ynode *n, const char **out)
{
    if (n->type != YN_SCALAR)
        return merr(c, n->pos, "expected a string, got %s", ykind(n));
    if (!n->interp) {
        char ierr[ERRLEN];
        n->interp = manifest_interpolate(n->text, c->src, ierr, sizeof ierr);
        if (!n->interp)
            return merr(c, n->pos, "%s", ierr);
    }
    *out = n->interp;
    return CC_OK;
}

int mstr(struct mctx *c, struct ynode *n, char **out)
{
    const char *s;
    *out = NULL;
    if (yis_null(n))
        return CC_OK;
    if (mscalar(c, n, &s) != CC_OK)
        return CC_EINVAL;
    *out = xstrdup(s);
    return CC_OK;
}

int mstr_req(struct mctx *c, struct ynode *n, char **out)
{
    const char *s;
    *out = NULL;
    if (yis_null(n))
        return merr(c, n->pos, "must not be empty");
    if (mscalar(c, n, &s) != CC_OK)
        return CC_EINVAL;
    if (!*s)
        return merr(c, n->pos, "must not be empty");
    *out = xstrdup(s);
    return CC_OK;
}

/* Decimal, 0x hex or 0o octal integer with optional sign (YAML 1.2 core schema). */
static int parse_int(const char *s, int64_t *out)
{
    int neg = 0, base = 10;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && s[1] == 'o') {
        base = 8;
        s += 2;
    }
    if (!*s)
        return CC_EINVAL;
    int64_t v = 0;
    for (; *s; s++) {
        int d;
        if (isdigit((unsigned char)*s))
            d = *s - '0';
        else if (isxdigit((unsigned char)*s))
            d = tolower((unsigned char)*s) - 'a' + 10;
        else if (*s == '_')
            continue;
        else
            return CC_EINVAL;
        if (d >= base || v > (INT64_MAX - d) / base)
            return CC_EINVAL;
        v = v * base + d;
    }
    *out = neg ? -v : v;
    return CC_OK;
}

int mint(struct mctx *c, struct ynode *n, int64_t min, int64_t max, int64_t *out)
{
    const char *s;
    if (n->type != YN_SCALAR || yis_null(n))
        return merr(c, n->pos, "expected a number, got %s", ykind(n));
    if (mscalar(c, n, &s) != CC_OK)
        return CC_EINVAL;
    int64_t v;
    if (parse_int(s, &v) != CC_OK)
        return merr(c, n->pos, "expected a number, got \"%s\"", s);
    if (v < min || v > max)
        return merr(c, n->pos, "%lld is out of range (%lld-%lld)", (long long)v, (long long)min,
                    (long long)max);
    *out = v;
    return CC_OK;
}

int mbool(struct mctx *c, struct ynode *n, int *out)
{
    const char *s;
    if (n->type != YN_SCALAR || yis_null(n))
        return merr(c, n->pos, "expected true or false, got %s", ykind(n));
    if (mscalar(c, n, &s) != CC_OK)
        return CC_EINVAL;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *out = 0;
    else
        return merr(c, n->pos, "expected true or false, got \"%s\"", s);
    return CC_OK;
}

int mduration(struct mctx *c, struct ynode *n, int64_t *out_ns)
{
    const char *s;
    if (n->type != YN_SCALAR || yis_null(n))
        return merr(c, n->pos, "expected a duration like 10s, got %s", ykind(n));
    if (mscalar(c, n, &s) != CC_OK)
        return CC_EINVAL;
    if (parse_duration(s, out_ns) != CC_OK)
        return merr(c, n->pos, "bad duration \"%s\": expected a number with a unit, like 1m30s, 10s or 500ms", s);
    return CC_OK;
}

int mstrlist(struct mctx *c, struct ynode *n, struct strlist *out)
{
    if (mexpect(c, n, YN_SEQ) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < n->n; i++) {
        const char *s;
        size_t old = mpath_idx(c, i);
        if (yis_null(n->vals[i]))
            return merr(c, n->vals[i]->pos, "expected a string, got null");
        if (mscalar(c, n->vals[i], &s) != CC_OK)
            return CC_EINVAL;
        strlist_add(out, xstrdup(s));
        mpath_pop(c, old);
    }
    return CC_OK;
}

static int copy_embedded(const struct embedded_file *f, unsigned char **data, size_t *len)
{
    char *buf = xmalloc(f->len + 1);
    memcpy(buf, f->data, f->len);
    buf[f->len] = '\0';
    *data = (unsigned char *)buf;
    *len = f->len;
    return CC_OK;
}

int mread_file(struct mctx *c, struct mpos pos, char **rel, unsigned char **data, size_t *len)
{
    char rerr[ERRLEN];
    char *buf = NULL;
    const struct embedded_file *f;
    *data = NULL;
    *len = 0;
    if (!strncmp(*rel, EMBEDDED_PREFIX, strlen(EMBEDDED_PREFIX))) {
        /* embedded:PATH: the file compiled into cdcctl, wherever the manifest is. */
        const char *name = *rel + strlen(EMBEDDED_PREFIX);
        f = *name ? embedded_find(name) : NULL;
        if (!f)
            return merr(c, pos, "unknown embedded file \"%s\" (embedded:PATH names a file compiled into cdcctl, e.g. embedded:config/schema.sql)", name);
        return copy_embedded(f, data, len);
    }
    if (!c->dir && (*rel)[0] != '/') {
        /* The built-in manifest: paths are relative to manifests/ in the repository.
         * The model keeps them as embedded:PATH, so `cdcctl config` output resolves
         * to the same files wherever it is saved. */
        char *p = mpath_join("/manifests", *rel);
        f = embedded_find(p + 1);
        if (!f) {
            int rc = merr(c, pos, "no built-in file \"%s\" (the built-in manifest can only use files compiled into cdcctl)", p + 1);
            free(p);
            return rc;
        }
        free(*rel);
        *rel = xmalloc(strlen(EMBEDDED_PREFIX) + strlen(p + 1) + 1);
        strcpy(*rel, EMBEDDED_PREFIX);
        strcat(*rel, p + 1);
        free(p);
        return copy_embedded(f, data, len);
    }
    char *path = mpath_join(c->dir, *rel);
    int rc = read_file(path, &buf, len, rerr, sizeof rerr);
    free(path);
    if (rc != CC_OK)
        return merr(c, pos, "%s", rerr);
    *data = (unsigned char *)buf;
    return CC_OK;
}

/* ---- top level ---- */

static char *normalize_project(const char *s)
{
    struct strbuf b = {0};
    for (; *s; s++) {
        char ch = (char)tolower((unsigned char)*s);
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-') {
            if (!b.len && (ch == '_' || ch == '-'))
                continue;
            strbuf_add(&b, &ch, 1);
        }
    }
    if (!b.buf)
        strbuf_adds(&b, "");
    return strbuf_detach(&b);
}

struct ynode *ymap_get(const struct ynode *map, const char *key, struct ynode **keynode)
{
    if (!map || map->type != YN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i]->text, key) == 0) {
            if (keynode)
                *keynode = map->keys[i];
            return map->vals[i];
        }
    }
    return NULL;
}

static int parse_project(struct mctx *c, struct ynode *root)
{
    struct ynode *k = NULL, *v = ymap_get(root, "project", &k);
    const char *override = c->src ? c->src->project : NULL;
    char *written = NULL;
    if (v) {
        size_t old = mpath_key(c, "project");
        if (mstr(c, v, &written) != CC_OK)
            return CC_EINVAL;
        if (!override) {
            if (!written || !*written) {
                free(written);
                return merr(c, v->pos, "must not be empty");
            }
            c->m->project = normalize_project(written);
            if (!*c->m->project) {
                int rc = merr(c, v->pos, "\"%s\" has no letters or digits", written);
                free(written);
                return rc;
            }
        }
        free(written);
        mpath_pop(c, old);
    }
    if (override) {
        c->m->project = normalize_project(override);
        if (!*c->m->project)
            return cc_errf(c->err, c->errlen, CC_EINVAL,
                           "-p: project name \"%s\" has no letters or digits", override);
    } else if (!v) {
        size_t old = mpath_key(c, "project");
        (void)old;
        return merr(c, root->pos, "required key missing (or pass -p NAME)");
    }
    return CC_OK;
}

static int parse_labels_discard(struct mctx *c, struct ynode *v)
{
    if (yis_null(v))
        return CC_OK;
    if (v->type == YN_SEQ) {
        struct strlist l = {0};
        int rc = mstrlist(c, v, &l);
        strlist_free(&l);
        return rc;
    }
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < v->n; i++) {
        char *s = NULL;
        size_t old = mpath_key(c, v->keys[i]->text);
        int rc = mstr(c, v->vals[i], &s);
        free(s);
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    return CC_OK;
}

static int parse_volumes(struct mctx *c, struct ynode *v)
{
    size_t old = mpath_key(c, "volumes");
    if (yis_null(v))
        goto done;
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < v->n; i++) {
        const char *name = v->keys[i]->text;
        struct ynode *def = v->vals[i];
        size_t o2 = mpath_key(c, name);
        if (!mvalid_name(name))
            return merr(c, v->keys[i]->pos, "invalid volume name: use letters, digits, _ . -, starting with a letter or digit");
        if (!yis_null(def)) {
            if (mexpect(c, def, YN_MAP) != CC_OK)
                return CC_EINVAL;
            for (size_t j = 0; j < def->n; j++) {
                const char *key = def->keys[j]->text;
                size_t o3 = mpath_key(c, key);
                if (!strcmp(key, "driver")) {
                    char *d = NULL;
                    int rc = mstr(c, def->vals[j], &d);
                    free(d);
                    if (rc != CC_OK)
                        return rc;
                } else if (!strcmp(key, "labels")) {
                    if (parse_labels_discard(c, def->vals[j]) != CC_OK)
                        return CC_EINVAL;
                } else if (strncmp(key, "x-", 2) != 0) {
                    return merr(c, def->keys[j]->pos, "unknown key (a volume takes driver and labels)");
                }
                mpath_pop(c, o3);
            }
        }
        strlist_add(&c->m->volumes, xstrdup(name));
        mpath_pop(c, o2);
    }
done:
    mpath_pop(c, old);
    return CC_OK;
}

/* ---- dependency cycles and order ---- */

static size_t service_index(const struct manifest *m, const char *name)
{
    for (size_t i = 0; i < m->nservices; i++)
        if (strcmp(m->services[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

static int dfs(struct mctx *c, size_t i, char *color, size_t *stack, size_t depth)
{
    const struct manifest *m = c->m;
    color[i] = 1;
    stack[depth] = i;
    for (size_t d = 0; d < m->services[i].ndepends; d++) {
        size_t j = service_index(m, m->services[i].depends_on[d].service);
        if (j == (size_t)-1)
            continue;
        if (color[j] == 1) {
            size_t k = 0;
            while (stack[k] != j)
                k++;
            struct strbuf cyc = {0};
            for (size_t x = k; x <= depth; x++)
                strbuf_addf(&cyc, "%s -> ", m->services[stack[x]].name);
            strbuf_adds(&cyc, m->services[j].name);
            /* Point at the first link of the cycle. */
            const struct service *first = &m->services[stack[k]];
            const char *next = k < depth ? m->services[stack[k + 1]].name : first->name;
            struct mpos pos = first->pos;
            for (size_t e = 0; e < first->ndepends; e++)
                if (!strcmp(first->depends_on[e].service, next))
                    pos = first->depends_on[e].pos;
            mpath_pop(c, 0);
            mpath_key(c, "services");
            mpath_key(c, first->name);
            mpath_key(c, "depends_on");
            int rc = merr(c, pos, "dependency cycle: %s", cyc.buf);
            strbuf_release(&cyc);
            return rc;
        }
        if (color[j] == 0 && dfs(c, j, color, stack, depth + 1) != CC_OK)
            return CC_EINVAL;
    }
    color[i] = 2;
    return CC_OK;
}

static int check_cycles(struct mctx *c)
{
    size_t n = c->m->nservices;
    char *color = xcalloc(n + 1, 1);
    size_t *stack = xcalloc(n + 1, sizeof *stack);
    int rc = CC_OK;
    for (size_t i = 0; i < n && rc == CC_OK; i++)
        if (!color[i])
            rc = dfs(c, i, color, stack, 0);
    free(color);
    free(stack);
    return rc;
}

void manifest_start_order(const struct manifest *m, size_t *order)
{
    size_t n = m->nservices;
    char *done = xcalloc(n + 1, 1);
    for (size_t out = 0; out < n; out++) {
        size_t pick = (size_t)-1;
        for (size_t i = 0; i < n && pick == (size_t)-1; i++) {
            if (done[i])
                continue;
            int ready = 1;
            for (size_t d = 0; d < m->services[i].ndepends && ready; d++) {
                size_t j = service_index(m, m->services[i].depends_on[d].service);
                if (j != (size_t)-1 && j != i && !done[j])
                    ready = 0;
            }
            if (ready)
                pick = i;
        }
        if (pick == (size_t)-1) /* a cycle (validation prevents it): keep manifest order */
            for (size_t i = 0; i < n && pick == (size_t)-1; i++)
                if (!done[i])
                    pick = i;
        done[pick] = 1;
        order[out] = pick;
    }
    free(done);
}

const struct service *manifest_service(const struct manifest *m, const char *name)
{
    if (!m || !name)
        return NULL;
    size_t i = service_index(m, name);
    return i == (size_t)-1 ? NULL : &m->services[i];
}

/* ---- root ---- */

static int parse_root(struct mctx *c, struct ytree *t)
{
    static const char *const known = "project, services, volumes, tidb, ticdc, kafka, consumer";
    struct ynode *root = t->root;
    if (!root || yis_null(root))
        return merr(c, (struct mpos){1, 1}, "manifest is empty (expected project: and services:)");
    if (root->type != YN_MAP)
        return merr(c, root->pos, "expected a mapping of keys (project, services, ...), got %s", ykind(root));
    for (size_t i = 0; i < root->n; i++) {
        const char *key = root->keys[i]->text;
        static const char *const keys[] = {"project", "services", "volumes", "tidb",
                                           "ticdc",   "kafka",    "consumer"};
        int ok = !strncmp(key, "x-", 2);
        for (size_t j = 0; j < sizeof keys / sizeof *keys && !ok; j++)
            ok = !strcmp(key, keys[j]);
        if (ok)
            continue;
        mpath_key(c, key);
        if (!strcmp(key, "version"))
            return merr(c, root->keys[i]->pos, "unknown key (compose's obsolete `version` is not used; remove it)");
        if (!strcmp(key, "name"))
            return merr(c, root->keys[i]->pos, "unknown key (cdcctl calls the project name `project`)");
        if (!strcmp(key, "networks") || !strcmp(key, "secrets") || !strcmp(key, "configs") ||
            !strcmp(key, "include") || !strcmp(key, "models"))
            return merr(c, root->keys[i]->pos, "unknown key (compose's `%s` is not supported by cdcctl; known keys: %s)", key, known);
        return merr(c, root->keys[i]->pos, "unknown key (known keys: %s)", known);
    }
    if (parse_project(c, root) != CC_OK)
        return CC_EINVAL;
    struct ynode *k = NULL, *v = ymap_get(root, "volumes", NULL);
    if (v && parse_volumes(c, v) != CC_OK)
        return CC_EINVAL;
    v = ymap_get(root, "services", &k);
    if (!v) {
        mpath_key(c, "services");
        return merr(c, root->pos, "required key missing");
    }
    if (mparse_services(c, v) != CC_OK)
        return CC_EINVAL;
    mpath_pop(c, 0);
    if ((v = ymap_get(root, "tidb", &k)) && mparse_tidb(c, k, v) != CC_OK)
        return CC_EINVAL;
    mpath_pop(c, 0);
    if ((v = ymap_get(root, "ticdc", &k)) && mparse_ticdc(c, k, v) != CC_OK)
        return CC_EINVAL;
    mpath_pop(c, 0);
    if ((v = ymap_get(root, "kafka", &k)) && mparse_kafka(c, k, v) != CC_OK)
        return CC_EINVAL;
    mpath_pop(c, 0);
    if ((v = ymap_get(root, "consumer", &k)) && mparse_consumer(c, k, v) != CC_OK)
        return CC_EINVAL;
    mpath_pop(c, 0);
    return check_cycles(c);
}

int manifest_parse(const char *text, size_t len, const char *name, const char *dir,
                   const struct manifest_source *src, struct manifest **out,
                   char *err, size_t errlen)
{
    struct ytree t = {0};
    struct mctx c = {0};
    struct manifest *m = xcalloc(1, sizeof *m);
    int rc;
    *out = NULL;
    m->path = xstrdup(name);
    if (dir) {
        char cwd[PATH_MAX];
        if (dir[0] != '/' && !getcwd(cwd, sizeof cwd)) {
            rc = cc_errf(err, errlen, CC_ERR, "%s: cannot get the current directory", name);
            goto out;
        }
        m->dir = mpath_join(dir[0] == '/' ? NULL : cwd, dir);
    } else {
        m->builtin = 1;
    }
    rc = ytree_parse(text, len, name, &t, err, errlen);
    if (rc != CC_OK)
        goto out;
    c.name = name;
    c.dir = m->dir;
    c.src = src;
    c.m = m;
    c.err = err;
    c.errlen = errlen;
    strbuf_adds(&c.path, "");
    rc = parse_root(&c, &t);
out:
    strbuf_release(&c.path);
    ytree_free(&t);
    if (rc != CC_OK) {
        manifest_free(m);
        return rc;
    }
    *out = m;
    return CC_OK;
}

int manifest_load(const struct manifest_source *src, struct manifest **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!src || !src->path) {
        const struct embedded_file *f = embedded_find(BUILTIN_MANIFEST);
        if (!f)
            return cc_errf(err, errlen, CC_ERR, "built-in manifest: not compiled into this cdcctl");
        return manifest_parse((const char *)f->data, f->len, "<built-in>/" BUILTIN_MANIFEST, NULL,
                              src, out, err, errlen);
    }
    char *text = NULL, *dir = NULL, *copy = NULL;
    size_t len = 0;
    int rc = read_file(src->path, &text, &len, err, errlen);
    if (rc != CC_OK) {
        rc = CC_ERR;
        goto out;
    }
    copy = xstrdup(src->path);
    char *slash = strrchr(copy, '/');
    const char *d = slash ? (slash == copy ? "/" : (*slash = '\0', copy)) : ".";
    dir = realpath(d, NULL);
    if (!dir) {
        rc = cc_errf(err, errlen, CC_ERR, "cannot resolve the directory of '%s'", src->path);
        goto out;
    }
    rc = manifest_parse(text, len, src->path, dir, src, out, err, errlen);
out:
    free(text);
    free(dir);
    free(copy);
    return rc;
}

static void file_free(struct file_spec *f)
{
    free(f->target);
    free(f->source);
    free(f->secret);
    free(f->data);
}

void mservice_free(struct service *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->image);
    if (s->build) {
        free(s->build->context);
        free(s->build->dockerfile);
        free(s->build);
    }
    strlist_free(&s->command);
    strlist_free(&s->entrypoint);
    kvlist_free(&s->environment);
    for (size_t i = 0; i < s->nports; i++)
        free(s->ports[i].host_ip);
    free(s->ports);
    for (size_t i = 0; i < s->nvolumes; i++) {
        free(s->volumes[i].source);
        free(s->volumes[i].target);
    }
    free(s->volumes);
    for (size_t i = 0; i < s->ndepends; i++)
        free(s->depends_on[i].service);
    free(s->depends_on);
    strlist_free(&s->healthcheck.test);
    free(s->restart);
    for (size_t i = 0; i < s->nulimits; i++)
        free(s->ulimits[i].name);
    free(s->ulimits);
    kvlist_free(&s->labels);
    strlist_free(&s->extra_hosts);
    free(s->user);
    free(s->working_dir);
    free(s->hostname);
    for (size_t i = 0; i < s->nfiles; i++)
        file_free(&s->files[i]);
    free(s->files);
    free(s->external);
}

void manifest_free(struct manifest *m)
{
    if (!m)
        return;
    free(m->path);
    free(m->dir);
    free(m->project);
    for (size_t i = 0; i < m->nservices; i++)
        mservice_free(&m->services[i]);
    free(m->services);
    strlist_free(&m->volumes);

    free(m->tidb.service);
    free(m->tidb.pd_service);
    free(m->tidb.schema);
    free(m->tidb.schema_sql);
    for (size_t i = 0; i < m->tidb.nusers; i++) {
        free(m->tidb.users[i].name);
        free(m->tidb.users[i].host);
        free(m->tidb.users[i].password_env);
        strlist_free(&m->tidb.users[i].grants);
    }
    free(m->tidb.users);

    free(m->ticdc.service);
    free(m->ticdc.changefeed);
    free(m->ticdc.sink_uri);
    strlist_free(&m->ticdc.filter_rules);
    free(m->ticdc.config);
    free(m->ticdc.config_json);

    free(m->kafka.service);
    free(m->kafka.brokers);
    free(m->kafka.host_brokers);
    free(m->kafka.topic);

    free(m->consumer.service);
    free(m->consumer.brokers);
    free(m->consumer.topic);
    free(m->consumer.group);
    free(m->consumer.metrics_addr);
    free(m->consumer.es_url);
    free(m->consumer.es_index_prefix);
    free(m->consumer.log_file);
    kvlist_free(&m->consumer.properties);
    free(m);
}
