/* manifest_mounts: a service's ports, volumes and files: what it publishes, what
 * it mounts and what is written into it before it starts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

/* ---- ports ---- */

int mparse_port_number(const char *s, int *out)
{
    if (!*s || strlen(s) > 5)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    *out = atoi(s);
    return 0;
}

/* "[ip:]host:container[/proto]" or "container[/proto]"; why gets the reason. */
static int parse_port_str(const char *in, struct port_spec *p, char *why, size_t wl)
{
    char *s = xstrdup(in), *ip = NULL, *host = NULL, *cont = NULL;
    int rc = -1;
    char *slash = strrchr(s, '/');
    snprintf(p->proto, sizeof p->proto, "tcp");
    if (slash) {
        *slash = '\0';
        if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp")) {
            snprintf(why, wl, "protocol must be tcp or udp");
            goto out;
        }
        snprintf(p->proto, sizeof p->proto, "%s", slash + 1);
    }
    if (s[0] == '[') {
        char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            snprintf(why, wl, "expected [ipv6]:host:container");
            goto out;
        }
        *close = '\0';
        ip = s + 1;
        host = close + 2;
        cont = strchr(host, ':');
        if (!cont) {
            snprintf(why, wl, "expected [ipv6]:host:container");
            goto out;
        }
        *cont++ = '\0';
        if (!mis_ip(ip, 1)) {
            snprintf(why, wl, "bad host IP \"%s\"", ip);
            goto out;
        }
    } else {
        int colons = 0;
        for (char *q = s; *q; q++)
            colons += *q == ':';
        if (colons > 2) {
            snprintf(why, wl, "too many ':' (write IPv6 addresses in brackets, like [::1]:8080:80)");
            goto out;
        }
        cont = s;
        if (colons == 2) {
            ip = s;
            host = strchr(s, ':');
            *host++ = '\0';
            cont = strchr(host, ':');
            *cont++ = '\0';
            if (*ip && !mis_ip(ip, 0)) {
                snprintf(why, wl, "bad host IP \"%s\"", ip);
                goto out;
            }
        } else if (colons == 1) {
            host = s;
            cont = strchr(s, ':');
            *cont++ = '\0';
        }
    }
    if (strchr(cont, '-') || (host && strchr(host, '-'))) {
        snprintf(why, wl, "port ranges are not supported; list each port");
        goto out;
    }
    if (!*cont) {
        snprintf(why, wl, "container port is missing");
        goto out;
    }
    if (mparse_port_number(cont, &p->container_port) != 0) {
        snprintf(why, wl, "container port is not a number");
        goto out;
    }
    if (p->container_port < 1 || p->container_port > 65535) {
        snprintf(why, wl, "container port must be 1-65535");
        goto out;
    }
    p->host_port = 0;
    if (host && *host) {
        if (mparse_port_number(host, &p->host_port) != 0) {
            snprintf(why, wl, "host port is not a number");
            goto out;
        }
        if (p->host_port == 0) {
            snprintf(why, wl, "host port 0 is not allowed (write only the container port for a random host port)");
            goto out;
        }
        if (p->host_port > 65535) {
            snprintf(why, wl, "host port must be 1-65535");
            goto out;
        }
    }
    p->host_ip = xstrdup(ip ? ip : "127.0.0.1");
    rc = 0;
out:
    free(s);
    return rc;
}

static int parse_port_long(struct mctx *c, struct ynode *v, struct port_spec *p)
{
    int have_target = 0;
    snprintf(p->proto, sizeof p->proto, "tcp");
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t old = mpath_key(c, key);
        int rc = CC_OK;
        int64_t n;
        const char *text;
        if (!strcmp(key, "target")) {
            rc = mint(c, val, 1, 65535, &n);
            p->container_port = (int)n;
            have_target = 1;
        } else if (!strcmp(key, "published")) {
            if (yis_null(val))
                p->host_port = 0;
            else if ((rc = mscalar(c, val, &text)) == CC_OK) {
                if (strchr(text, '-'))
                    rc = merr(c, val->pos, "port ranges are not supported; list each port");
                else if (*text && (mparse_port_number(text, &p->host_port) != 0 ||
                                   p->host_port < 1 || p->host_port > 65535))
                    rc = merr(c, val->pos, "bad published port \"%s\": expected 1-65535", text);
            }
        } else if (!strcmp(key, "host_ip")) {
            free(p->host_ip);
            p->host_ip = NULL;
            rc = mstr(c, val, &p->host_ip);
            if (rc == CC_OK && p->host_ip && *p->host_ip && !mis_ip(p->host_ip, 1))
                rc = merr(c, val->pos, "bad host IP \"%s\"", p->host_ip);
        } else if (!strcmp(key, "protocol")) {
            rc = mscalar(c, val, &text);
            if (rc == CC_OK && strcmp(text, "tcp") && strcmp(text, "udp"))
                rc = merr(c, val->pos, "protocol must be tcp or udp");
            if (rc == CC_OK)
                snprintf(p->proto, sizeof p->proto, "%s", text);
        } else if (!strcmp(key, "mode")) {
            rc = mscalar(c, val, &text);
            if (rc == CC_OK && strcmp(text, "host") && strcmp(text, "ingress"))
                rc = merr(c, val->pos, "mode must be host or ingress");
        } else if (!strcmp(key, "name") || !strcmp(key, "app_protocol")) {
            rc = mscalar(c, val, &text);
        } else if (strncmp(key, "x-", 2)) {
            rc = merr(c, v->keys[i]->pos, "unknown key (a port takes target, published, host_ip, protocol)");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    if (!have_target)
        return merr(c, v->pos, "target is required (the container port)");
    if (!p->host_ip)
        p->host_ip = xstrdup("127.0.0.1");
    return CC_OK;
}

int mk_ports(struct mctx *c, struct ynode *v, struct service *s)
{
    if (yis_null(v))
        return CC_OK;
    if (mexpect(c, v, YN_SEQ) != CC_OK)
        return CC_EINVAL;
    s->ports = xcalloc(v->n ? v->n : 1, sizeof *s->ports);
    for (size_t i = 0; i < v->n; i++) {
        struct ynode *it = v->vals[i];
        struct port_spec *p = &s->ports[i];
        size_t old = mpath_idx(c, i);
        s->nports = i + 1;
        if (it->type == YN_MAP) {
            if (parse_port_long(c, it, p) != CC_OK)
                return CC_EINVAL;
        } else {
            const char *text;
            char why[160];
            if (yis_null(it) || it->type != YN_SCALAR)
                return merr(c, it->pos, "expected \"[ip:]host:container[/proto]\" or a mapping, got %s", ykind(it));
            if (mscalar(c, it, &text) != CC_OK)
                return CC_EINVAL;
            if (parse_port_str(text, p, why, sizeof why) != 0)
                return merr(c, it->pos, "bad port \"%s\": %s", text, why);
        }
        mpath_pop(c, old);
    }
    return CC_OK;
}

/* ---- volumes ---- */

static int declared_volume(const struct mctx *c, const char *name)
{
    for (size_t i = 0; i < c->m->volumes.n; i++)
        if (!strcmp(c->m->volumes.items[i], name))
            return 1;
    return 0;
}

/* Fills m->type and m->source from a written source. */
static int mount_source(struct mctx *c, struct ynode *at, const char *src, int want_bind,
                        struct mount_spec *m)
{
    int bind = src[0] == '/' || src[0] == '.' || src[0] == '~';
    if (want_bind >= 0 && want_bind != bind)
        return merr(c, at->pos, want_bind ? "a bind source must be a path (/abs, ./rel or ~/...)"
                                          : "a volume source must be a volume name");
    if (!bind) {
        if (!mvalid_name(src))
            return merr(c, at->pos, "bad volume name \"%s\"", src);
        if (!declared_volume(c, src))
            return merr(c, at->pos, "volume \"%s\" is not declared under the top-level volumes key", src);
        m->type = MOUNT_VOLUME;
        m->source = xstrdup(src);
        return CC_OK;
    }
    m->type = MOUNT_BIND;
    if (src[0] == '~' && (src[1] == '/' || !src[1])) {
        const char *home = c->src && c->src->getenv_fn ? c->src->getenv_fn("HOME", c->src->getenv_ctx)
                                                       : getenv("HOME");
        if (!home || home[0] != '/')
            return merr(c, at->pos, "cannot expand ~: HOME is not set");
        char *full = xmalloc(strlen(home) + strlen(src) + 2);
        sprintf(full, "%s/%s", home, src + 1);
        m->source = mpath_join(NULL, full);
        free(full);
        return CC_OK;
    }
    if (src[0] == '~')
        return merr(c, at->pos, "~user paths are not supported: write the full path");
    if (src[0] != '/' && !c->dir)
        return merr(c, at->pos, "relative bind source \"%s\" in the built-in manifest: use an absolute path", src);
    m->source = mpath_join(c->dir, src);
    return CC_OK;
}

static int parse_volume_str(struct mctx *c, struct ynode *it, const char *text, struct mount_spec *m)
{
    char *s = xstrdup(text), *parts[4] = {0};
    size_t n = 0;
    int rc = CC_OK;
    for (char *p = s; n < 4; n++) {
        parts[n] = p;
        char *colon = strchr(p, ':');
        if (!colon) {
            n++;
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    if (n == 1) {
        rc = merr(c, it->pos, "bad volume \"%s\": anonymous volumes are not supported (write NAME:%s and declare NAME under the top-level volumes key)", text, text);
    } else if (n > 3) {
        rc = merr(c, it->pos, "bad volume \"%s\": expected source:target[:ro|rw]", text);
    } else if (n == 3 && strcmp(parts[2], "ro") && strcmp(parts[2], "rw")) {
        rc = merr(c, it->pos, "bad volume \"%s\": mode \"%s\" is not supported (use ro or rw)", text, parts[2]);
    } else if (!*parts[0]) {
        rc = merr(c, it->pos, "bad volume \"%s\": source is empty", text);
    } else if (parts[1][0] != '/') {
        rc = merr(c, it->pos, "bad volume \"%s\": the container path must be absolute", text);
    } else {
        m->read_only = n == 3 && !strcmp(parts[2], "ro");
        m->target = xstrdup(parts[1]);
        rc = mount_source(c, it, parts[0], -1, m);
    }
    free(s);
    return rc;
}

static int parse_volume_long(struct mctx *c, struct ynode *v, struct mount_spec *m)
{
    struct ynode *src_node = NULL;
    char *type = NULL, *src = NULL;
    int rc = CC_OK;
    for (size_t i = 0; i < v->n && rc == CC_OK; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t old = mpath_key(c, key);
        if (!strcmp(key, "type")) {
            rc = mstr_req(c, val, &type);
            if (rc == CC_OK && strcmp(type, "volume") && strcmp(type, "bind"))
                rc = merr(c, val->pos, "type \"%s\" is not supported (use volume or bind)", type);
        } else if (!strcmp(key, "source")) {
            rc = mstr_req(c, val, &src);
            src_node = val;
        } else if (!strcmp(key, "target")) {
            rc = mstr_req(c, val, &m->target);
            if (rc == CC_OK && m->target[0] != '/')
                rc = merr(c, val->pos, "the container path must be absolute");
        } else if (!strcmp(key, "read_only")) {
            rc = mbool(c, val, &m->read_only);
        } else if (!strcmp(key, "bind") || !strcmp(key, "volume")) {
            /* create_host_path / nocopy: accepted, Docker's defaults apply */
            rc = yis_null(val) ? CC_OK : mexpect(c, val, YN_MAP);
            for (size_t j = 0; rc == CC_OK && !yis_null(val) && j < val->n; j++) {
                const char *k2 = val->keys[j]->text;
                int b;
                size_t o2 = mpath_key(c, k2);
                if (!strcmp(k2, "create_host_path") || !strcmp(k2, "nocopy"))
                    rc = mbool(c, val->vals[j], &b);
                else
                    rc = merr(c, val->keys[j]->pos, "unknown key");
                mpath_pop(c, o2);
            }
        } else if (strncmp(key, "x-", 2)) {
            rc = merr(c, v->keys[i]->pos, "unknown key (a volume mount takes type, source, target, read_only)");
        }
        if (rc == CC_OK)
            mpath_pop(c, old);
    }
    if (rc == CC_OK && !type)
        rc = merr(c, v->pos, "type is required (volume or bind)");
    if (rc == CC_OK && !src)
        rc = merr(c, v->pos, "source is required");
    if (rc == CC_OK && !m->target)
        rc = merr(c, v->pos, "target is required");
    if (rc == CC_OK) {
        size_t old = mpath_key(c, "source");
        rc = mount_source(c, src_node, src, !strcmp(type, "bind"), m);
        if (rc == CC_OK)
            mpath_pop(c, old);
    }
    free(type);
    free(src);
    return rc;
}

int mk_volumes(struct mctx *c, struct ynode *v, struct service *s)
{
    if (yis_null(v))
        return CC_OK;
    if (mexpect(c, v, YN_SEQ) != CC_OK)
        return CC_EINVAL;
    s->volumes = xcalloc(v->n ? v->n : 1, sizeof *s->volumes);
    for (size_t i = 0; i < v->n; i++) {
        struct ynode *it = v->vals[i];
        size_t old = mpath_idx(c, i);
        s->nvolumes = i + 1;
        int rc;
        if (it->type == YN_MAP) {
            rc = parse_volume_long(c, it, &s->volumes[i]);
        } else {
            const char *text;
            if (yis_null(it) || it->type != YN_SCALAR)
                return merr(c, it->pos, "expected \"source:target[:ro]\" or a mapping, got %s", ykind(it));
            if (mscalar(c, it, &text) != CC_OK)
                return CC_EINVAL;
            rc = parse_volume_str(c, it, text, &s->volumes[i]);
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    return CC_OK;
}

/* ---- files ---- */

static int parse_mode(struct mctx *c, struct ynode *v, unsigned *mode)
{
    const char *text;
    if (yis_null(v) || mscalar(c, v, &text) != CC_OK)
        return yis_null(v) ? merr(c, v->pos, "expected an octal mode like 0644, got null") : CC_EINVAL;
    const char *p = text;
    if (p[0] == '0' && p[1] == 'o')
        p += 2;
    unsigned m = 0;
    int ok = *p != '\0' && strlen(p) <= 5;
    for (; ok && *p; p++) {
        if (*p < '0' || *p > '7')
            ok = 0;
        else
            m = m * 8 + (unsigned)(*p - '0');
    }
    if (!ok || m > 07777)
        return merr(c, v->pos, "bad mode \"%s\": expected an octal mode like 0644", text);
    *mode = m;
    return CC_OK;
}

static int parse_file(struct mctx *c, struct ynode *v, struct file_spec *f, const struct service *s)
{
    struct ynode *src_node = NULL;
    char *content = NULL;
    int have_content = 0, rc = CC_OK;
    int64_t n;
    f->mode = 0644;
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < v->n && rc == CC_OK; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t old = mpath_key(c, key);
        if (!strcmp(key, "target")) {
            rc = mstr_req(c, val, &f->target);
            if (rc == CC_OK) {
                size_t l = strlen(f->target);
                if (f->target[0] != '/' || !strcmp(f->target, "/") || f->target[l - 1] == '/')
                    rc = merr(c, val->pos, "target must be an absolute file path, not \"%s\"", f->target);
            }
            for (size_t j = 0; rc == CC_OK && j + 1 < s->nfiles; j++)
                if (s->files[j].target && !strcmp(s->files[j].target, f->target))
                    rc = merr(c, val->pos, "\"%s\" is written by another files entry", f->target);
        } else if (!strcmp(key, "source")) {
            rc = mstr_req(c, val, &f->source);
            src_node = val;
        } else if (!strcmp(key, "content")) {
            have_content = 1;
            if (val->type != YN_SCALAR)
                rc = merr(c, val->pos, "expected a string, got %s", ykind(val));
            else
                rc = mstr(c, val, &content);
            if (rc == CC_OK && !content)
                content = xstrdup("");
        } else if (!strcmp(key, "secret")) {
            rc = mstr_req(c, val, &f->secret);
            if (rc == CC_OK && !valid_env_name(f->secret))
                rc = merr(c, val->pos, "bad secret name \"%s\": use letters, digits and _ (an environment variable name)", f->secret);
        } else if (!strcmp(key, "mode")) {
            rc = parse_mode(c, val, &f->mode);
        } else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
            rc = mint(c, val, 0, 2147483647, &n);
            *(key[0] == 'u' ? &f->uid : &f->gid) = (int)n;
        } else {
            rc = merr(c, v->keys[i]->pos, "unknown key (a file takes target, source, content, secret, mode, uid, gid)");
        }
        if (rc == CC_OK)
            mpath_pop(c, old);
    }
    int count = !!f->source + have_content + !!f->secret;
    if (rc == CC_OK && !f->target)
        rc = merr(c, v->pos, "target is required");
    if (rc == CC_OK && count != 1)
        rc = merr(c, v->pos, count ? "source, content and secret are mutually exclusive"
                                   : "one of source, content or secret is required");
    if (rc == CC_OK && f->source) {
        size_t old = mpath_key(c, "source");
        rc = mread_file(c, src_node->pos, &f->source, &f->data, &f->len);
        if (rc == CC_OK)
            mpath_pop(c, old);
    }
    if (rc == CC_OK && have_content) {
        f->len = strlen(content);
        f->data = (unsigned char *)content;
        content = NULL;
    }
    free(content);
    return rc;
}

int mk_files(struct mctx *c, struct ynode *v, struct service *s)
{
    if (yis_null(v))
        return CC_OK;
    if (mexpect(c, v, YN_SEQ) != CC_OK)
        return CC_EINVAL;
    s->files = xcalloc(v->n ? v->n : 1, sizeof *s->files);
    for (size_t i = 0; i < v->n; i++) {
        size_t old = mpath_idx(c, i);
        s->nfiles = i + 1;
        if (parse_file(c, v->vals[i], &s->files[i], s) != CC_OK)
            return CC_EINVAL;
        mpath_pop(c, old);
    }
    return CC_OK;
}
