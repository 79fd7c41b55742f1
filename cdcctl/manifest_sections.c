/* manifest_sections: the top-level tidb, ticdc, kafka and consumer sections, with
 * their defaults (filled when a section is written) and service references. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

/* A service a section refers to must exist. `written` is the value node or NULL
 * when the default is used (then the error points at the section key). */
static int check_section_service(struct mctx *c, const char *section, struct ynode *seckey,
                                 struct ynode *written, const char *field, const char *name)
{
    if (!name || manifest_service(c->m, name))
        return CC_OK;
    size_t old = mpath_key(c, section);
    if (written) {
        mpath_key(c, field);
        return merr(c, written->pos, "no service \"%s\" in services", name);
    }
    (void)old;
    return merr(c, seckey->pos, "no service \"%s\" in services (%s.%s defaults to \"%s\"; set it)",
                name, section, field, name);
}

static int unknown_key(struct mctx *c, struct ynode *k, const char *known)
{
    mpath_key(c, k->text);
    return merr(c, k->pos, "unknown key (known keys: %s)", known);
}

static int valid_sql_name(const char *s)
{
    for (; *s; s++)
        if (*s == '\'' || *s == '"' || *s == '`' || *s == '\\' || (unsigned char)*s < 0x20)
            return 0;
    return 1;
}

static int parse_user(struct mctx *c, struct ynode *v, struct tidb_user *u)
{
    if (mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t old = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "name")) {
            rc = mstr_req(c, val, &u->name);
            if (rc == CC_OK && !valid_sql_name(u->name))
                rc = merr(c, val->pos, "user name must not contain quotes, backslashes or control characters");
        } else if (!strcmp(key, "host")) {
            rc = mstr_req(c, val, &u->host);
            if (rc == CC_OK && !valid_sql_name(u->host))
                rc = merr(c, val->pos, "host must not contain quotes, backslashes or control characters");
        } else if (!strcmp(key, "password_env")) {
            rc = mstr_req(c, val, &u->password_env);
            if (rc == CC_OK && !valid_env_name(u->password_env))
                rc = merr(c, val->pos, "\"%s\" is not a valid environment variable name", u->password_env);
        } else if (!strcmp(key, "grants")) {
            rc = mstrlist(c, val, &u->grants);
            for (size_t j = 0; rc == CC_OK && j < u->grants.n; j++)
                if (strchr(u->grants.items[j], ';') || !*u->grants.items[j]) {
                    mpath_idx(c, j);
                    rc = merr(c, val->vals[j]->pos, "a grant is one privilege clause like \"SELECT ON shop.*\" (no ';')");
                }
        } else {
            mpath_pop(c, old);
            return unknown_key(c, v->keys[i], "name, host, password_env, grants");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, old);
    }
    if (!u->name)
        return merr(c, v->pos, "a user needs a name");
    if (!u->host)
        u->host = xstrdup("%");
    if (!u->password_env) {
        struct strbuf b = {0};
        for (const char *p = u->name; *p; p++) {
            char ch = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
            strbuf_add(&b, &ch, 1);
        }
        strbuf_adds(&b, "_PASSWORD");
        u->password_env = strbuf_detach(&b);
        if (!valid_env_name(u->password_env)) { /* starts with a digit */
            char *p = u->password_env;
            u->password_env = xmalloc(strlen(p) + 2);
            sprintf(u->password_env, "_%s", p);
            free(p);
        }
    }
    return CC_OK;
}

int mparse_tidb(struct mctx *c, struct ynode *seckey, struct ynode *v)
{
    struct tidb_section *t = &c->m->tidb;
    struct ynode *svc_node = NULL, *pd_node = NULL;
    int pd_written = 0;
    int64_t port = 4000;
    size_t old = mpath_key(c, "tidb");
    t->present = 1;
    if (!yis_null(v) && mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; !yis_null(v) && i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t o2 = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "service")) {
            rc = mstr_req(c, val, &t->service);
            svc_node = val;
        } else if (!strcmp(key, "port")) {
            rc = mint(c, val, 1, 65535, &port);
        } else if (!strcmp(key, "pd_service")) {
            rc = mstr(c, val, &t->pd_service);
            pd_written = 1;
            pd_node = val;
        } else if (!strcmp(key, "schema")) {
            rc = mstr_req(c, val, &t->schema);
            if (rc == CC_OK)
                rc = mread_file(c, val->pos, &t->schema, &t->schema_sql, &t->schema_len);
        } else if (!strcmp(key, "users")) {
            rc = mexpect(c, val, YN_SEQ);
            if (rc == CC_OK && val->n) {
                t->users = xcalloc(val->n, sizeof *t->users);
                for (size_t j = 0; rc == CC_OK && j < val->n; j++) {
                    size_t o3 = mpath_idx(c, j);
                    t->nusers = j + 1;
                    rc = parse_user(c, val->vals[j], &t->users[j]);
                    mpath_pop(c, o3);
                }
            }
        } else {
            mpath_pop(c, o2);
            return unknown_key(c, v->keys[i], "service, port, pd_service, schema, users");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, o2);
    }
    mpath_pop(c, old);
    t->port = (int)port;
    if (!t->service)
        t->service = xstrdup("tidb");
    if (!pd_written && manifest_service(c->m, "pd"))
        t->pd_service = xstrdup("pd");
    if (check_section_service(c, "tidb", seckey, svc_node, "service", t->service) != CC_OK)
        return CC_EINVAL;
    if (pd_written && check_section_service(c, "tidb", seckey, pd_node, "pd_service", t->pd_service) != CC_OK)
        return CC_EINVAL;
    return CC_OK;
}

static int valid_changefeed(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-')
            return 0;
    return 1;
}

int mparse_ticdc(struct mctx *c, struct ynode *seckey, struct ynode *v)
{
    struct ticdc_section *t = &c->m->ticdc;
    struct ynode *svc_node = NULL;
    int64_t port = 8300;
    int have_rules = 0;
    size_t old = mpath_key(c, "ticdc");
    t->present = 1;
    if (!yis_null(v) && mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; !yis_null(v) && i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t o2 = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "service")) {
            rc = mstr_req(c, val, &t->service);
            svc_node = val;
        } else if (!strcmp(key, "port")) {
            rc = mint(c, val, 1, 65535, &port);
        } else if (!strcmp(key, "changefeed")) {
            rc = mstr_req(c, val, &t->changefeed);
            if (rc == CC_OK && !valid_changefeed(t->changefeed))
                rc = merr(c, val->pos, "bad changefeed id \"%s\": use letters and digits in groups joined by single '-' (^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$, at most 128 characters)",
                          t->changefeed);
        } else if (!strcmp(key, "sink_uri")) {
            rc = mstr(c, val, &t->sink_uri);
        } else if (!strcmp(key, "filter_rules")) {
            have_rules = 1;
            rc = mstrlist(c, val, &t->filter_rules);
        } else if (!strcmp(key, "config")) {
            rc = mstr_req(c, val, &t->config);
            if (rc == CC_OK)
                rc = mread_file(c, val->pos, &t->config, &t->config_json, &t->config_len);
            if (rc == CC_OK) {
                json_error_t jerr;
                json_t *j = json_loadb((const char *)t->config_json, t->config_len, 0, &jerr);
                if (!j || !json_is_object(j))
                    rc = merr(c, val->pos, "\"%s\" is not a JSON object%s%s", t->config,
                              j ? "" : ": ", j ? "" : jerr.text);
                json_decref(j);
            }
        } else {
            mpath_pop(c, o2);
            return unknown_key(c, v->keys[i], "service, port, changefeed, sink_uri, filter_rules, config");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, o2);
    }
    mpath_pop(c, old);
    t->port = (int)port;
    if (!t->service)
        t->service = xstrdup("ticdc");
    if (!t->changefeed)
        t->changefeed = xstrdup("shop-cdc");
    if (!have_rules)
        strlist_add(&t->filter_rules, xstrdup("shop.*"));
    return check_section_service(c, "ticdc", seckey, svc_node, "service", t->service);
}

static int valid_topic(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return 0;
    return 1;
}

static int read_topic(struct mctx *c, struct ynode *val, char **out)
{
    if (mstr_req(c, val, out) != CC_OK)
        return CC_EINVAL;
    if (!valid_topic(*out))
        return merr(c, val->pos, "bad topic \"%s\": use letters, digits, '.', '_' and '-' (at most 249)", *out);
    return CC_OK;
}

static int read_brokers(struct mctx *c, struct ynode *val, char **out)
{
    if (mstr_req(c, val, out) != CC_OK)
        return CC_EINVAL;
    char *copy = xstrdup(*out), *save = NULL;
    int ok = 1;
    for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!strncmp(tok, "PLAINTEXT://", 12))
            tok += 12;
        ok = valid_hostport(tok, 1);
    }
    free(copy);
    if (!ok)
        return merr(c, val->pos, "bad broker list \"%s\": expected host:port[,host:port...]", *out);
    return CC_OK;
}

int mparse_kafka(struct mctx *c, struct ynode *seckey, struct ynode *v)
{
    struct kafka_section *k = &c->m->kafka;
    struct ynode *svc_node = NULL;
    int64_t partitions = 3, rf = 1;
    size_t old = mpath_key(c, "kafka");
    k->present = 1;
    if (!yis_null(v) && mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; !yis_null(v) && i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t o2 = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "service")) {
            rc = mstr_req(c, val, &k->service);
            svc_node = val;
        } else if (!strcmp(key, "brokers")) {
            rc = read_brokers(c, val, &k->brokers);
        } else if (!strcmp(key, "host_brokers")) {
            rc = read_brokers(c, val, &k->host_brokers);
        } else if (!strcmp(key, "topic")) {
            rc = read_topic(c, val, &k->topic);
        } else if (!strcmp(key, "partitions")) {
            rc = mint(c, val, 1, 100000, &partitions);
        } else if (!strcmp(key, "replication_factor")) {
            rc = mint(c, val, 1, 32767, &rf);
        } else {
            mpath_pop(c, o2);
            return unknown_key(c, v->keys[i], "service, brokers, host_brokers, topic, partitions, replication_factor");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, o2);
    }
    mpath_pop(c, old);
    k->partitions = (int)partitions;
    k->replication_factor = (int)rf;
    if (!k->service)
        k->service = xstrdup("kafka");
    if (!k->topic)
        k->topic = xstrdup("shop-db-data-changes");
    if (check_section_service(c, "kafka", seckey, svc_node, "service", k->service) != CC_OK)
        return CC_EINVAL;
    const struct service *s = manifest_service(c->m, k->service);
    if (!k->brokers) {
        if (s->external) {
            k->brokers = xstrdup(s->external);
        } else {
            k->brokers = xmalloc(strlen(k->service) + 6);
            sprintf(k->brokers, "%s:9092", k->service);
        }
    }
    if (!k->host_brokers)
        k->host_brokers = xstrdup(s->external ? s->external : k->brokers);
    return CC_OK;
}

int mparse_consumer(struct mctx *c, struct ynode *seckey, struct ynode *v)
{
    struct consumer_section *k = &c->m->consumer;
    struct ynode *svc_node = NULL;
    int svc_written = 0;
    size_t old = mpath_key(c, "consumer");
    k->present = 1;
    if (!yis_null(v) && mexpect(c, v, YN_MAP) != CC_OK)
        return CC_EINVAL;
    for (size_t i = 0; !yis_null(v) && i < v->n; i++) {
        const char *key = v->keys[i]->text;
        struct ynode *val = v->vals[i];
        size_t o2 = mpath_key(c, key);
        int rc = CC_OK;
        if (!strcmp(key, "service")) {
            rc = mstr(c, val, &k->service);
            svc_written = 1;
            svc_node = val;
        } else if (!strcmp(key, "brokers")) {
            rc = read_brokers(c, val, &k->brokers);
        } else if (!strcmp(key, "topic")) {
            rc = read_topic(c, val, &k->topic);
        } else if (!strcmp(key, "group")) {
            rc = mstr_req(c, val, &k->group);
        } else if (!strcmp(key, "metrics_addr")) {
            rc = mstr_req(c, val, &k->metrics_addr);
            if (rc == CC_OK && !valid_hostport(k->metrics_addr, 0))
                rc = merr(c, val->pos, "bad address \"%s\": expected host:port (port 0 = any free port)", k->metrics_addr);
        } else if (!strcmp(key, "es_url")) {
            rc = mstr(c, val, &k->es_url);
            if (rc == CC_OK && k->es_url && strncmp(k->es_url, "http://", 7) && strncmp(k->es_url, "https://", 8))
                rc = merr(c, val->pos, "bad URL \"%s\": expected http://host:port or https://...", k->es_url);
        } else if (!strcmp(key, "es_index_prefix")) {
            rc = mstr_req(c, val, &k->es_index_prefix);
            for (const char *p = k->es_index_prefix; rc == CC_OK && *p; p++)
                if (isupper((unsigned char)*p) || strchr(" \\/*?\"<>|,#:", *p))
                    rc = merr(c, val->pos, "bad index prefix \"%s\": Elasticsearch index names are lower case without spaces or \\/*?\"<>|,#:", k->es_index_prefix);
        } else if (!strcmp(key, "log_file")) {
            rc = mstr(c, val, &k->log_file);
        } else if (!strcmp(key, "properties")) {
            rc = yis_null(val) ? CC_OK : mexpect(c, val, YN_MAP);
            for (size_t j = 0; rc == CC_OK && !yis_null(val) && j < val->n; j++) {
                char *pv = NULL;
                size_t o3 = mpath_key(c, val->keys[j]->text);
                rc = mstr_req(c, val->vals[j], &pv);
                if (rc == CC_OK)
                    kvlist_set(&k->properties, xstrdup(val->keys[j]->text), pv);
                mpath_pop(c, o3);
            }
        } else {
            mpath_pop(c, o2);
            return unknown_key(c, v->keys[i], "service, brokers, topic, group, metrics_addr, es_url, es_index_prefix, log_file, properties");
        }
        if (rc != CC_OK)
            return rc;
        mpath_pop(c, o2);
    }
    mpath_pop(c, old);
    if (!svc_written && manifest_service(c->m, "consumer"))
        k->service = xstrdup("consumer");
    if (svc_written && check_section_service(c, "consumer", seckey, svc_node, "service", k->service) != CC_OK)
        return CC_EINVAL;
    if (!k->brokers && c->m->kafka.present)
        k->brokers = xstrdup(c->m->kafka.brokers);
    if (!k->topic && c->m->kafka.present)
        k->topic = xstrdup(c->m->kafka.topic);
    if (!k->group)
        k->group = xstrdup("cdcctl-consumer");
    if (!k->metrics_addr)
        k->metrics_addr = xstrdup("127.0.0.1:8000");
    if (!k->es_index_prefix)
        k->es_index_prefix = xstrdup("cdc-events");
    return CC_OK;
}
