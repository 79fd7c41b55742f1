/* manifest_emit: the resolved manifest as YAML (`cdcctl config`), written with
 * libyaml's emitter so quoting is always right. The output parses back into the
 * same model: every default is written out, `$` is escaped as `$$`, and values
 * that would read back as null are quoted. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "manifest_priv.h"

struct em {
    yaml_emitter_t e;
    struct strbuf out;
    int failed;
};

static int write_out(void *data, unsigned char *buf, size_t size)
{
    strbuf_add(data, buf, size);
    return 1;
}

static void emit(struct em *e, yaml_event_t *ev, int init_ok)
{
    if (!init_ok) {
        e->failed = 1;
        return;
    }
    if (e->failed) {
        yaml_event_delete(ev);
        return;
    }
    if (!yaml_emitter_emit(&e->e, ev)) /* the emitter frees the event either way */
        e->failed = 1;
}

static void map_start(struct em *e, int flow)
{
    yaml_event_t ev;
    emit(e, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                                     flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct em *e)
{
    yaml_event_t ev;
    emit(e, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void seq_start(struct em *e, int flow)
{
    yaml_event_t ev;
    emit(e, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                      flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct em *e)
{
    yaml_event_t ev;
    emit(e, &ev, yaml_sequence_end_event_initialize(&ev));
}

static int null_like(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL") ||
           !strcmp(s, "<<");
}

/* Plain text another YAML reader could take for a boolean or a number (YAML 1.1 or
 * 1.2): quoted in the output, so what is a string reads as one everywhere. */
static int ambiguous(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "y", "n",
                                        ".inf", "-.inf", "+.inf", ".nan"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!strcasecmp(s, words[i]))
            return 1;
    if (!(isdigit((unsigned char)s[0]) || strchr("+-.", s[0])))
        return 0;
    int digit = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p))
            digit = 1;
        else if (!strchr("abcdefABCDEFxXoO._:+-", *p))
            return 0;
    }
    return digit;
}

static void scalar(struct em *e, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (style == YAML_ANY_SCALAR_STYLE && null_like(text))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                     style)) {
        emit(e, &ev, 1);
        return;
    }
    /* Not valid UTF-8 (only possible through an environment variable): replace bytes. */
    char *copy = xstrdup(text);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    emit(e, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)copy,
                                              (int)strlen(copy), 1, 1, style));
    free(copy);
}

static void key(struct em *e, const char *k)
{
    scalar(e, k, YAML_ANY_SCALAR_STYLE);
}

/* A value: `$` doubled so interpolation gives it back; multi-line text as a block. */
static void str(struct em *e, const char *v)
{
    yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
    if (strchr(v, '\n'))
        style = YAML_LITERAL_SCALAR_STYLE;
    else if (ambiguous(v))
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    struct strbuf b = {0};
    for (const char *p = v; *p; p++) {
        if (*p == '$')
            strbuf_add(&b, "$", 1);
        strbuf_add(&b, p, 1);
    }
    if (!b.buf)
        strbuf_adds(&b, "");
    scalar(e, b.buf, style);
    strbuf_release(&b);
}

static void null_value(struct em *e)
{
    scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
}

static void num(struct em *e, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    scalar(e, buf, YAML_PLAIN_SCALAR_STYLE);
}

static void kv_str(struct em *e, const char *k, const char *v)
{
    if (!v)
        return;
    key(e, k);
    str(e, v);
}

static void kv_num(struct em *e, const char *k, long long v)
{
    key(e, k);
    num(e, v);
}

static void strlist(struct em *e, const struct strlist *l, int flow)
{
    seq_start(e, flow);
    for (size_t i = 0; i < l->n; i++)
        str(e, l->items[i]);
    seq_end(e);
}

static void kvmap(struct em *e, const struct kvlist *l)
{
    map_start(e, 0);
    for (size_t i = 0; i < l->n; i++) {
        key(e, l->items[i].key);
        if (l->items[i].value)
            str(e, l->items[i].value);
        else
            null_value(e);
    }
    map_end(e);
}

static void emit_port(struct em *e, const struct port_spec *p)
{
    struct strbuf b = {0};
    if (strchr(p->host_ip, ':'))
        strbuf_addf(&b, "[%s]:", p->host_ip);
    else
        strbuf_addf(&b, "%s:", p->host_ip);
    if (p->host_port)
        strbuf_addf(&b, "%d", p->host_port);
    strbuf_addf(&b, ":%d", p->container_port);
    if (strcmp(p->proto, "tcp"))
        strbuf_addf(&b, "/%s", p->proto);
    str(e, b.buf);
    strbuf_release(&b);
}

static void emit_mount(struct em *e, const struct mount_spec *m)
{
    if (strchr(m->source, ':') || strchr(m->target, ':')) {
        map_start(e, 0);
        kv_str(e, "type", m->type == MOUNT_BIND ? "bind" : "volume");
        kv_str(e, "source", m->source);
        kv_str(e, "target", m->target);
        if (m->read_only) {
            key(e, "read_only");
            scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
        }
        map_end(e);
        return;
    }
    struct strbuf b = {0};
    strbuf_addf(&b, "%s:%s%s", m->source, m->target, m->read_only ? ":ro" : "");
    str(e, b.buf);
    strbuf_release(&b);
}

static void emit_duration(struct em *e, const char *k, int64_t ns)
{
    char buf[64];
    if (!ns)
        return;
    format_duration(ns, buf, sizeof buf);
    kv_str(e, k, buf);
}

static void emit_healthcheck(struct em *e, const struct healthcheck *h)
{
    key(e, "healthcheck");
    map_start(e, 0);
    if (h->test.n) {
        key(e, "test");
        strlist(e, &h->test, 1);
    }
    emit_duration(e, "interval", h->interval_ns);
    emit_duration(e, "timeout", h->timeout_ns);
    emit_duration(e, "start_period", h->start_period_ns);
    if (h->retries)
        kv_num(e, "retries", h->retries);
    if (h->disable) {
        key(e, "disable");
        scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
    }
    map_end(e);
}

static void emit_file(struct em *e, const struct file_spec *f)
{
    char mode[16];
    map_start(e, 0);
    kv_str(e, "target", f->target);
    if (f->source) {
        kv_str(e, "source", f->source);
    } else if (f->secret) {
        kv_str(e, "secret", f->secret);
    } else {
        key(e, "content");
        str(e, f->data ? (const char *)f->data : "");
    }
    snprintf(mode, sizeof mode, "0%o", f->mode);
    key(e, "mode");
    scalar(e, mode, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    if (f->uid)
        kv_num(e, "uid", f->uid);
    if (f->gid)
        kv_num(e, "gid", f->gid);
    map_end(e);
}

static void emit_service(struct em *e, const struct service *s)
{
    static const char *const conds[] = {"service_started", "service_healthy",
                                        "service_completed_successfully"};
    key(e, s->name);
    map_start(e, 0);
    kv_str(e, "image", s->image);
    if (s->build) {
        key(e, "build");
        map_start(e, 0);
        kv_str(e, "context", s->build->embedded ? "embedded:consumer" : s->build->context);
        kv_str(e, "dockerfile", s->build->dockerfile);
        map_end(e);
    }
    kv_str(e, "external", s->external);
    if (s->has_entrypoint) {
        key(e, "entrypoint");
        strlist(e, &s->entrypoint, s->entrypoint.n <= 3);
    }
    if (s->has_command) {
        key(e, "command");
        strlist(e, &s->command, s->command.n <= 3);
    }
    kv_str(e, "user", s->user);
    kv_str(e, "working_dir", s->working_dir);
    kv_str(e, "hostname", s->hostname);
    if (s->environment.n) {
        key(e, "environment");
        kvmap(e, &s->environment);
    }
    if (s->nports) {
        key(e, "ports");
        seq_start(e, 0);
        for (size_t i = 0; i < s->nports; i++)
            emit_port(e, &s->ports[i]);
        seq_end(e);
    }
    if (s->nvolumes) {
        key(e, "volumes");
        seq_start(e, 0);
        for (size_t i = 0; i < s->nvolumes; i++)
            emit_mount(e, &s->volumes[i]);
        seq_end(e);
    }
    if (s->ndepends) {
        key(e, "depends_on");
        map_start(e, 0);
        for (size_t i = 0; i < s->ndepends; i++) {
            key(e, s->depends_on[i].service);
            map_start(e, 0);
            kv_str(e, "condition", conds[s->depends_on[i].condition]);
            map_end(e);
        }
        map_end(e);
    }
    if (s->healthcheck.set)
        emit_healthcheck(e, &s->healthcheck);
    kv_str(e, "restart", s->restart);
    if (s->nulimits) {
        key(e, "ulimits");
        map_start(e, 0);
        for (size_t i = 0; i < s->nulimits; i++) {
            const struct ulimit *u = &s->ulimits[i];
            key(e, u->name);
            if (u->soft == u->hard) {
                num(e, u->soft);
            } else {
                map_start(e, 0);
                kv_num(e, "soft", u->soft);
                kv_num(e, "hard", u->hard);
                map_end(e);
            }
        }
        map_end(e);
    }
    if (s->labels.n) {
        key(e, "labels");
        kvmap(e, &s->labels);
    }
    if (s->extra_hosts.n) {
        key(e, "extra_hosts");
        strlist(e, &s->extra_hosts, 0);
    }
    if (s->nfiles) {
        key(e, "files");
        seq_start(e, 0);
        for (size_t i = 0; i < s->nfiles; i++)
            emit_file(e, &s->files[i]);
        seq_end(e);
    }
    map_end(e);
}

static void emit_sections(struct em *e, const struct manifest *m)
{
    if (m->tidb.present) {
        const struct tidb_section *t = &m->tidb;
        key(e, "tidb");
        map_start(e, 0);
        kv_str(e, "service", t->service);
        kv_num(e, "port", t->port);
        key(e, "pd_service");
        if (t->pd_service)
            str(e, t->pd_service);
        else
            null_value(e);
        kv_str(e, "schema", t->schema);
        if (t->nusers) {
            key(e, "users");
            seq_start(e, 0);
            for (size_t i = 0; i < t->nusers; i++) {
                map_start(e, 0);
                kv_str(e, "name", t->users[i].name);
                kv_str(e, "host", t->users[i].host);
                kv_str(e, "password_env", t->users[i].password_env);
                key(e, "grants");
                strlist(e, &t->users[i].grants, 0);
                map_end(e);
            }
            seq_end(e);
        }
        map_end(e);
    }
    if (m->ticdc.present) {
        const struct ticdc_section *t = &m->ticdc;
        key(e, "ticdc");
        map_start(e, 0);
        kv_str(e, "service", t->service);
        kv_num(e, "port", t->port);
        kv_str(e, "changefeed", t->changefeed);
        kv_str(e, "sink_uri", t->sink_uri);
        key(e, "filter_rules");
        strlist(e, &t->filter_rules, 0);
        kv_str(e, "config", t->config);
        map_end(e);
    }
    if (m->kafka.present) {
        const struct kafka_section *k = &m->kafka;
        key(e, "kafka");
        map_start(e, 0);
        kv_str(e, "service", k->service);
        kv_str(e, "brokers", k->brokers);
        kv_str(e, "host_brokers", k->host_brokers);
        kv_str(e, "topic", k->topic);
        kv_num(e, "partitions", k->partitions);
        kv_num(e, "replication_factor", k->replication_factor);
        map_end(e);
    }
    if (m->consumer.present) {
        const struct consumer_section *k = &m->consumer;
        key(e, "consumer");
        map_start(e, 0);
        key(e, "service");
        if (k->service)
            str(e, k->service);
        else
            null_value(e);
        kv_str(e, "brokers", k->brokers);
        kv_str(e, "topic", k->topic);
        kv_str(e, "group", k->group);
        kv_str(e, "metrics_addr", k->metrics_addr);
        kv_str(e, "es_url", k->es_url);
        kv_str(e, "es_index_prefix", k->es_index_prefix);
        kv_str(e, "log_file", k->log_file);
        if (k->properties.n) {
            key(e, "properties");
            kvmap(e, &k->properties);
        }
        map_end(e);
    }
}

char *manifest_to_yaml(const struct manifest *m)
{
    struct em e = {0};
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e.e))
        return xstrdup("# cdcctl: cannot initialise the YAML emitter\n");
    yaml_emitter_set_output(&e.e, write_out, &e.out);
    yaml_emitter_set_unicode(&e.e, 1);
    yaml_emitter_set_indent(&e.e, 2);
    yaml_emitter_set_width(&e.e, -1);
    emit(&e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    emit(&e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    map_start(&e, 0);
    kv_str(&e, "project", m->project);
    key(&e, "services");
    map_start(&e, 0);
    for (size_t i = 0; i < m->nservices; i++)
        emit_service(&e, &m->services[i]);
    map_end(&e);
    if (m->volumes.n) {
        key(&e, "volumes");
        map_start(&e, 0);
        for (size_t i = 0; i < m->volumes.n; i++) {
            key(&e, m->volumes.items[i]);
            map_start(&e, 1);
            map_end(&e);
        }
        map_end(&e);
    }
    emit_sections(&e, m);
    map_end(&e);
    emit(&e, &ev, yaml_document_end_event_initialize(&ev, 1));
    emit(&e, &ev, yaml_stream_end_event_initialize(&ev));
    if (!e.failed && !yaml_emitter_flush(&e.e))
        e.failed = 1;
    yaml_emitter_delete(&e.e);
    if (e.failed)
        strbuf_adds(&e.out, "\n# cdcctl: writing the manifest as YAML failed\n");
    if (!e.out.buf)
        strbuf_adds(&e.out, "");
    return strbuf_detach(&e.out);
}
