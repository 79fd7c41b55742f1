/* docker_inspect: container inspect / list JSON -> structs (see docker_inspect.h). */
#include "docker_inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return xstrdup(s ? s : "");
}

static void copy_id(char dst[65], const char *id)
{
    snprintf(dst, 65, "%s", id ? id : "");
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const struct docker_label *)a)->key, ((const struct docker_label *)b)->key);
}

static void parse_labels(const json_t *obj, struct docker_label **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_object(obj) || json_object_size(obj) == 0)
        return;
    *out = xcalloc(json_object_size(obj), sizeof **out);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (!json_is_string(v))
            continue;
        (*out)[*n].key = xstrdup(k);
        (*out)[*n].value = dup_str(v);
        (*n)++;
    }
    qsort(*out, *n, sizeof **out, label_cmp);
}

static void free_labels(struct docker_label *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].key);
        free(l[i].value);
    }
    free(l);
}

const char *docker_labels_get(const struct docker_label *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i].key, key) == 0)
            return labels[i].value;
    return NULL;
}

/* "127.0.0.1:8080->80/tcp"; IPv6 host addresses in brackets; no host IP -> "0.0.0.0". */
static char *format_port(const char *host_ip, const char *host_port, const char *container)
{
    struct strbuf sb = {0};
    if (!host_ip || !*host_ip)
        host_ip = "0.0.0.0";
    if (strchr(host_ip, ':'))
        strbuf_addf(&sb, "[%s]:%s->%s", host_ip, host_port, container);
    else
        strbuf_addf(&sb, "%s:%s->%s", host_ip, host_port, container);
    return strbuf_detach(&sb);
}

/* Sorts by container port number, then by the whole text. */
static int port_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const char *xa = strstr(x, "->"), *ya = strstr(y, "->");
    long xp = xa ? strtol(xa + 2, NULL, 10) : 0, yp = ya ? strtol(ya + 2, NULL, 10) : 0;
    if (xp != yp)
        return xp < yp ? -1 : 1;
    return strcmp(x, y);
}

static void add_port(char ***ports, size_t *n, char *text)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*ports)[i], text) == 0) {
            free(text);
            return;
        }
    *ports = xrealloc(*ports, (*n + 1) * sizeof **ports);
    (*ports)[(*n)++] = text;
}

static void free_ports(char **ports, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ports[i]);
    free(ports);
}

int docker_container_info_parse(const json_t *j, struct docker_container_info *out,
                                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *id = json_string_value(json_object_get(j, "Id"));
    const json_t *state = json_object_get(j, "State");
    if (!id || !json_is_object(state))
        return cc_errf(err, errlen, CC_EINVAL, "container inspect: not a container (no Id or State)");
    copy_id(out->id, id);
    const char *name = json_string_value(json_object_get(j, "Name"));
    out->name = xstrdup(name ? (name[0] == '/' ? name + 1 : name) : "");
    out->status = dup_str(json_object_get(state, "Status"));
    out->running = json_is_true(json_object_get(state, "Running"));
    out->exit_code = (int)json_integer_value(json_object_get(state, "ExitCode"));
    out->error = dup_str(json_object_get(state, "Error"));
    out->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    out->started_at = dup_str(json_object_get(state, "StartedAt"));
    out->finished_at = dup_str(json_object_get(state, "FinishedAt"));

    const json_t *health = json_object_get(state, "Health");
    const char *hs = json_string_value(json_object_get(health, "Status"));
    out->health = xstrdup(hs && *hs ? hs : "none");
    out->failing_streak = (int)json_integer_value(json_object_get(health, "FailingStreak"));
    const json_t *hlog = json_object_get(health, "Log");
    size_t nlog = json_array_size(hlog);
    out->health_output = dup_str(nlog ? json_object_get(json_array_get(hlog, nlog - 1), "Output") : NULL);

    out->image = dup_str(json_object_get(j, "Image"));
    const json_t *config = json_object_get(j, "Config");
    out->config_image = dup_str(json_object_get(config, "Image"));
    out->tty = json_is_true(json_object_get(config, "Tty"));
    out->restart_count = (int)json_integer_value(json_object_get(j, "RestartCount"));
    parse_labels(json_object_get(config, "Labels"), &out->labels, &out->nlabels);

    const json_t *ports = json_object_get(json_object_get(j, "NetworkSettings"), "Ports");
    const char *cport;
    json_t *bindings;
    json_object_foreach((json_t *)ports, cport, bindings) {
        size_t i;
        json_t *b;
        json_array_foreach(bindings, i, b) {
            const char *hp = json_string_value(json_object_get(b, "HostPort"));
            if (!hp || !*hp)
                continue;
            add_port(&out->ports, &out->nports,
                     format_port(json_string_value(json_object_get(b, "HostIp")), hp, cport));
        }
    }
    if (out->nports)
        qsort(out->ports, out->nports, sizeof *out->ports, port_cmp);
    return CC_OK;
}

void docker_container_info_clear(struct docker_container_info *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->status);
    free(c->error);
    free(c->health);
    free(c->health_output);
    free(c->started_at);
    free(c->finished_at);
    free(c->image);
    free(c->config_image);
    free_ports(c->ports, c->nports);
    free_labels(c->labels, c->nlabels);
    memset(c, 0, sizeof *c);
}

const char *docker_container_info_label(const struct docker_container_info *c, const char *key)
{
    return docker_labels_get(c->labels, c->nlabels, key);
}

/* Health from the list's Status text: "Up 3 minutes (healthy)", "(health: starting)". */
static const char *health_from_status(const char *status)
{
    if (strstr(status, "(unhealthy)"))
        return "unhealthy";
    if (strstr(status, "(healthy)"))
        return "healthy";
    if (strstr(status, "(health: starting)"))
        return "starting";
    return "none";
}

int docker_container_summary_parse(const json_t *j, struct docker_container_summary *out,
                                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *id = json_string_value(json_object_get(j, "Id"));
    if (!id)
        return cc_errf(err, errlen, CC_EINVAL, "container list: entry without Id");
    copy_id(out->id, id);
    const char *name = json_string_value(json_array_get(json_object_get(j, "Names"), 0));
    out->name = xstrdup(name ? (name[0] == '/' ? name + 1 : name) : "");
    out->image = dup_str(json_object_get(j, "Image"));
    out->image_id = dup_str(json_object_get(j, "ImageID"));
    out->state = dup_str(json_object_get(j, "State"));
    out->status = dup_str(json_object_get(j, "Status"));
    const char *hs = json_string_value(json_object_get(json_object_get(j, "Health"), "Status"));
    out->health = xstrdup(hs && *hs ? hs : health_from_status(out->status));
    out->created = (long long)json_integer_value(json_object_get(j, "Created"));
    parse_labels(json_object_get(j, "Labels"), &out->labels, &out->nlabels);

    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "Ports"), i, p) {
        json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
        json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
        const char *type = json_string_value(json_object_get(p, "Type"));
        if (pub <= 0)
            continue;
        char hp[24], cp[48];
        snprintf(hp, sizeof hp, "%lld", (long long)pub);
        snprintf(cp, sizeof cp, "%lld/%s", (long long)priv, type ? type : "tcp");
        add_port(&out->ports, &out->nports,
                 format_port(json_string_value(json_object_get(p, "IP")), hp, cp));
    }
    if (out->nports)
        qsort(out->ports, out->nports, sizeof *out->ports, port_cmp);
    return CC_OK;
}

int docker_container_summaries_parse(const json_t *array, struct docker_container_summary **out,
                                     size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(array))
        return cc_errf(err, errlen, CC_EINVAL, "container list: not a JSON array");
    size_t len = json_array_size(array);
    struct docker_container_summary *s = xcalloc(len ? len : 1, sizeof *s);
    for (size_t i = 0; i < len; i++) {
        int rc = docker_container_summary_parse(json_array_get(array, i), &s[i], err, errlen);
        if (rc != CC_OK) {
            docker_container_summaries_free(s, i);
            return rc;
        }
    }
    *out = s;
    *n = len;
    return CC_OK;
}

void docker_container_summary_clear(struct docker_container_summary *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->image);
    free(s->image_id);
    free(s->state);
    free(s->status);
    free(s->health);
    free_ports(s->ports, s->nports);
    free_labels(s->labels, s->nlabels);
    memset(s, 0, sizeof *s);
}

void docker_container_summaries_free(struct docker_container_summary *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        docker_container_summary_clear(&s[i]);
    free(s);
}

const char *docker_container_summary_label(const struct docker_container_summary *s,
                                           const char *key)
{
    return docker_labels_get(s->labels, s->nlabels, key);
}
