/* spec: service -> container-create body, names, labels, config hash. Pure. */
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

char *spec_container_name(const char *project, const char *service)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb, "%s-%s-1", project, service);
    return strbuf_detach(&sb);
}

char *spec_network_name(const char *project)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb, "%s_default", project);
    return strbuf_detach(&sb);
}

char *spec_volume_name(const char *project, const char *key)
{
    struct strbuf sb = {0};
    strbuf_addf(&sb, "%s_%s", project, key);
    return strbuf_detach(&sb);
}

char *spec_image_ref(const char *project, const struct service *svc)
{
    if (svc->external)
        return NULL;
    if (svc->image)
        return xstrdup(svc->image);
    struct strbuf sb = {0};
    strbuf_addf(&sb, "%s-%s:latest", project, svc->name);
    return strbuf_detach(&sb);
}

static json_t *strlist_json(const struct strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->items[i]));
    return a;
}

static const char *env_lookup(const struct spec_ctx *ctx, const char *name)
{
    if (ctx->getenv_fn)
        return ctx->getenv_fn(name, ctx->getenv_ctx);
    return getenv(name);
}

/* Env entries sorted by name so the order they were written in does not matter.
 * A later duplicate of a name wins (like compose's list form). */
struct env_item {
    const char *key;
    const char *value;
    size_t index;
};

static int env_cmp(const void *a, const void *b)
{
    const struct env_item *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static json_t *env_json(const struct service *svc, const struct spec_ctx *ctx)
{
    size_t n = svc->environment.n;
    struct env_item *items = xcalloc(n ? n : 1, sizeof *items);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kv *e = &svc->environment.items[i];
        const char *v = e->value ? e->value : env_lookup(ctx, e->key);
        if (!v)
            continue;
        items[k].key = e->key;
        items[k].value = v;
        items[k].index = i;
        k++;
    }
    qsort(items, k, sizeof *items, env_cmp);
    json_t *a = json_array();
    struct strbuf sb = {0};
    for (size_t i = 0; i < k; i++) {
        if (i + 1 < k && strcmp(items[i].key, items[i + 1].key) == 0)
            continue; /* the later one wins */
        strbuf_reset(&sb);
        strbuf_addf(&sb, "%s=%s", items[i].key, items[i].value);
        json_array_append_new(a, json_string(sb.buf));
    }
    strbuf_release(&sb);
    free(items);
    return a;
}

static json_t *labels_json(const struct service *svc, const struct spec_ctx *ctx)
{
    json_t *o = json_object();
    for (size_t i = 0; i < svc->labels.n; i++) {
        const struct kv *l = &svc->labels.items[i];
        json_object_set_new(o, l->key, json_string(l->value ? l->value : ""));
    }
    json_object_set_new(o, SPEC_LABEL_PROJECT, json_string(ctx->project));
    json_object_set_new(o, SPEC_LABEL_SERVICE, json_string(svc->name));
    return o;
}

json_t *spec_restart_policy(const char *restart)
{
    const char *name = restart && *restart ? restart : "no";
    long retries = 0;
    char buf[32];
    const char *colon = strchr(name, ':');
    if (colon) {
        size_t len = (size_t)(colon - name);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        memcpy(buf, name, len);
        buf[len] = '\0';
        retries = strtol(colon + 1, NULL, 10);
        name = buf;
    }
    return json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", (json_int_t)retries);
}

static void add_ports(const struct service *svc, json_t *config, json_t *host)
{
    if (!svc->nports)
        return;
    json_t *exposed = json_object();
    json_t *bindings = json_object();
    char key[32], hp[16];
    for (size_t i = 0; i < svc->nports; i++) {
        const struct port_spec *p = &svc->ports[i];
        snprintf(key, sizeof key, "%d/%s", p->container_port, p->proto[0] ? p->proto : "tcp");
        json_object_set_new(exposed, key, json_object());
        json_t *list = json_object_get(bindings, key);
        if (!list) {
            list = json_array();
            json_object_set_new(bindings, key, list);
        }
        if (p->host_port > 0)
            snprintf(hp, sizeof hp, "%d", p->host_port);
        else
            hp[0] = '\0';
        json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", p->host_ip ? p->host_ip : "",
                                              "HostPort", hp));
    }
    json_object_set_new(config, "ExposedPorts", exposed);
    json_object_set_new(host, "PortBindings", bindings);
}

static void add_binds(const struct service *svc, const struct spec_ctx *ctx, json_t *host)
{
    if (!svc->nvolumes)
        return;
    json_t *binds = json_array();
    struct strbuf sb = {0};
    for (size_t i = 0; i < svc->nvolumes; i++) {
        const struct mount_spec *v = &svc->volumes[i];
        strbuf_reset(&sb);
        if (v->type == MOUNT_VOLUME)
            strbuf_addf(&sb, "%s_%s:%s", ctx->project, v->source, v->target);
        else
            strbuf_addf(&sb, "%s:%s", v->source, v->target);
        if (v->read_only)
            strbuf_adds(&sb, ":ro");
        json_array_append_new(binds, json_string(sb.buf));
    }
    strbuf_release(&sb);
    json_object_set_new(host, "Binds", binds);
}

static json_t *healthcheck_json(const struct healthcheck *h)
{
    json_t *o = json_object();
    if (h->disable) {
        json_object_set_new(o, "Test", json_pack("[s]", "NONE"));
        return o;
    }
    json_object_set_new(o, "Test", strlist_json(&h->test));
    if (h->interval_ns)
        json_object_set_new(o, "Interval", json_integer(h->interval_ns));
    if (h->timeout_ns)
        json_object_set_new(o, "Timeout", json_integer(h->timeout_ns));
    if (h->start_period_ns)
        json_object_set_new(o, "StartPeriod", json_integer(h->start_period_ns));
    if (h->retries)
        json_object_set_new(o, "Retries", json_integer(h->retries));
    return o;
}

json_t *spec_create_body(const struct service *svc, const struct spec_ctx *ctx)
{
    json_t *body = json_object();
    json_t *host = json_object();
    char *image = spec_image_ref(ctx->project, svc);
    char *cname = spec_container_name(ctx->project, svc->name);
    char *net = spec_network_name(ctx->project);

    json_object_set_new(body, "Image", json_string(image ? image : ""));
    if (svc->has_command && svc->command.n)
        json_object_set_new(body, "Cmd", strlist_json(&svc->command));
    if (svc->has_entrypoint)
        json_object_set_new(body, "Entrypoint",
                            svc->entrypoint.n ? strlist_json(&svc->entrypoint)
                                              : json_pack("[s]", "")); /* [""] resets it */
    json_object_set_new(body, "Env", env_json(svc, ctx));
    json_object_set_new(body, "Labels", labels_json(svc, ctx));
    json_object_set_new(body, "Hostname",
                        json_string(svc->hostname && *svc->hostname ? svc->hostname : svc->name));
    if (svc->user)
        json_object_set_new(body, "User", json_string(svc->user));
    if (svc->working_dir)
        json_object_set_new(body, "WorkingDir", json_string(svc->working_dir));
    json_object_set_new(body, "Tty", json_false());
    if (svc->healthcheck.set)
        json_object_set_new(body, "Healthcheck", healthcheck_json(&svc->healthcheck));

    add_ports(svc, body, host);
    add_binds(svc, ctx, host);
    json_object_set_new(host, "RestartPolicy", spec_restart_policy(svc->restart));
    if (svc->nulimits) {
        json_t *ul = json_array();
        for (size_t i = 0; i < svc->nulimits; i++)
            json_array_append_new(ul, json_pack("{s:s,s:I,s:I}", "Name", svc->ulimits[i].name,
                                                "Soft", (json_int_t)svc->ulimits[i].soft,
                                                "Hard", (json_int_t)svc->ulimits[i].hard));
        json_object_set_new(host, "Ulimits", ul);
    }
    if (svc->extra_hosts.n)
        json_object_set_new(host, "ExtraHosts", strlist_json(&svc->extra_hosts));
    json_object_set_new(host, "NetworkMode", json_string(net));
    json_object_set_new(body, "HostConfig", host);

    json_t *endpoint = json_pack("{s:[s,s]}", "Aliases", svc->name, cname);
    json_t *endpoints = json_object();
    json_object_set_new(endpoints, net, endpoint);
    json_object_set_new(body, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", endpoints));

    free(image);
    free(cname);
    free(net);
    return body;
}

void spec_config_hash(const struct service *svc, const struct spec_ctx *ctx, char out[65])
{
    json_t *doc = json_object();
    json_object_set_new(doc, "body", spec_create_body(svc, ctx));
    json_object_set_new(doc, "image_id", json_string(ctx->image_id ? ctx->image_id : ""));
    json_t *files = json_array();
    for (size_t i = 0; i < svc->nfiles; i++) {
        const struct file_spec *f = &svc->files[i];
        char h[65];
        if (ctx->file_hashes && ctx->file_hashes[i])
            snprintf(h, sizeof h, "%s", ctx->file_hashes[i]);
        else
            sha256_hex(f->data ? (const void *)f->data : "", f->data ? f->len : 0, h);
        json_array_append_new(files, json_pack("{s:s,s:I,s:I,s:I,s:s}", "target", f->target,
                                               "mode", (json_int_t)f->mode, "uid", (json_int_t)f->uid,
                                               "gid", (json_int_t)f->gid, "sha256", h));
    }
    json_object_set_new(doc, "files", files);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    sha256_hex(text, strlen(text), out);
    free(text);
    json_decref(doc);
}

json_t *spec_container(const struct service *svc, const struct spec_ctx *ctx, char hash_out[65])
{
    char hash[65];
    spec_config_hash(svc, ctx, hash);
    json_t *body = spec_create_body(svc, ctx);
    json_object_set_new(json_object_get(body, "Labels"), SPEC_LABEL_HASH, json_string(hash));
    if (hash_out)
        memcpy(hash_out, hash, 65);
    return body;
}

json_t *spec_network_labels(const char *project)
{
    return json_pack("{s:s,s:s}", SPEC_LABEL_PROJECT, project, SPEC_LABEL_NETWORK, "default");
}

json_t *spec_volume_labels(const char *project, const char *key)
{
    return json_pack("{s:s,s:s}", SPEC_LABEL_PROJECT, project, SPEC_LABEL_VOLUME, key);
}
