/* bootstrap: TiDB schema + users, the Kafka topic and the TiCDC changefeed, in
 * that order, once the services are up; and their `cdcctl status` rows. Every
 * endpoint comes from endpoint_resolve(), so external services need no Docker. */
#include "bootstrap.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_admin.h"
#include "secret.h"
#include "ticdc.h"
#include "tidb.h"
#include "util.h"

#define DEFAULT_TOPIC "shop-db-data-changes"

static void note(FILE *progress, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *progress, const char *fmt, ...)
{
    if (!progress)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(progress, fmt, ap);
    va_end(ap);
    fputc('\n', progress);
    fflush(progress);
}

static const char *or_default(const char *s, const char *def)
{
    return s && *s ? s : def;
}

/* Default secret name for a user: NAME upper-cased, non-alnum -> '_', + _PASSWORD. */
static void default_password_env(const char *name, char *out, size_t outlen)
{
    size_t j = 0;
    for (const char *p = name; *p && j + 10 < outlen; p++)
        out[j++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    snprintf(out + j, outlen - j, "_PASSWORD");
}

static int service_is_external(const struct manifest *m, const char *name)
{
    const struct service *s = manifest_service(m, name);
    return s && s->external;
}

/* ---------------------------------------------------------------------- up */

static int step_users(const struct manifest *m, const struct bootstrap_options *opt,
                      struct tidb_conn *conn, char *err, size_t errlen)
{
    for (size_t i = 0; i < m->tidb.nusers; i++) {
        const struct tidb_user *u = &m->tidb.users[i];
        char envname[160], path[4096] = "", why[ERRLEN];
        char *pw = NULL;
        enum secret_origin origin;
        int rc;
        if (u->password_env && *u->password_env)
            snprintf(envname, sizeof envname, "%s", u->password_env);
        else
            default_password_env(u->name, envname, sizeof envname);
        if (!opt->state_dir && !(getenv(envname) && *getenv(envname)))
            return cc_errf(err, errlen, CC_ERR,
                           "tidb: user %s: set %s (no state directory to keep a generated "
                           "password in)",
                           u->name, envname);
        rc = secret_get(opt->state_dir ? opt->state_dir : "", envname, &pw, &origin, path,
                        sizeof path, why, sizeof why);
        if (rc != CC_OK)
            return cc_errf(err, errlen, CC_ERR, "tidb: user %s: password: %s", u->name, why);
        if (origin == SECRET_GENERATED)
            note(opt->progress, "tidb: generated a password for %s in %s (set %s to choose your own)",
                 u->name, path, envname);
        else if (origin == SECRET_FROM_FILE)
            note(opt->progress, "tidb: password for %s from %s", u->name, path);
        else
            note(opt->progress, "tidb: password for %s from $%s", u->name, envname);
        rc = tidb_ensure_user(conn, u, pw, opt->progress, why, sizeof why);
        explicit_bzero(pw, strlen(pw));
        free(pw);
        if (rc != CC_OK)
            return cc_errf(err, errlen, rc, "tidb: %s", why);
    }
    return CC_OK;
}

static int step_tidb(const struct manifest *m, const struct endpoint_resolver *r,
                     const struct bootstrap_options *opt, double deadline, char *err,
                     size_t errlen)
{
    const char *svc = or_default(m->tidb.service, "tidb");
    int port = m->tidb.port > 0 ? m->tidb.port : 4000;
    char hp[512], why[ERRLEN], version[128] = "";
    struct tidb_conn *conn = NULL;
    int rc;
    if ((rc = endpoint_resolve(r, m, svc, port, hp, sizeof hp, why, sizeof why)) != CC_OK)
        return cc_errf(err, errlen, rc, "tidb: %s", why);

    /* PD first: TiDB only accepts connections once TiKV is Up */
    if (m->tidb.pd_service && *m->tidb.pd_service) {
        char pdhp[512];
        if (!manifest_service(m, m->tidb.pd_service)) {
            note(opt->progress, "tidb: no service '%s' in the manifest; not waiting for TiKV stores",
                 m->tidb.pd_service);
        } else if (endpoint_resolve(r, m, m->tidb.pd_service, 2379, pdhp, sizeof pdhp, why,
                                    sizeof why) != CC_OK) {
            note(opt->progress, "tidb: not waiting for TiKV stores: %s", why);
        } else {
            rc = tidb_wait_pd_store_up(pdhp, deadline, opt->progress, why, sizeof why);
            if (rc == CC_ENOTFOUND)
                note(opt->progress, "tidb: %s; not waiting for TiKV stores", why);
            else if (rc != CC_OK)
                return cc_errf(err, errlen, rc, "tidb: %s", why);
        }
    }
    if ((rc = tidb_wait_ready(hp, deadline, opt->progress, &conn, why, sizeof why)) != CC_OK)
        return cc_errf(err, errlen, rc, "tidb: %s", why);
    if ((rc = tidb_version(conn, version, sizeof version, why, sizeof why)) != CC_OK) {
        rc = cc_errf(err, errlen, rc, "tidb: SELECT VERSION(): %s", why);
        goto out;
    }
    note(opt->progress, "tidb: connected to %s (version %s)", hp, version);
    if (m->tidb.schema_sql && m->tidb.schema_len) {
        int applied = 0, existing = 0;
        const char *name = or_default(m->tidb.schema, "schema");
        rc = tidb_apply_schema(conn, name, (const char *)m->tidb.schema_sql, m->tidb.schema_len,
                               &applied, &existing, why, sizeof why);
        if (rc != CC_OK) {
            rc = cc_errf(err, errlen, rc, "tidb: %s", why);
            goto out;
        }
        if (existing)
            note(opt->progress, "tidb: applied %s (%d statements, %d already applied)", name,
                 applied + existing, existing);
        else
            note(opt->progress, "tidb: applied %s (%d statements)", name, applied);
    }
    rc = step_users(m, opt, conn, err, errlen);
out:
    tidb_close(conn);
    return rc;
}

/* Host-side brokers: kafka.host_brokers, else the external endpoint of the kafka
 * service, else kafka.brokers. */
static const char *host_brokers(const struct manifest *m)
{
    if (m->kafka.host_brokers && *m->kafka.host_brokers)
        return m->kafka.host_brokers;
    const struct service *s = manifest_service(m, or_default(m->kafka.service, "kafka"));
    if (s && s->external)
        return s->external;
    return m->kafka.brokers;
}

static int step_kafka(const struct manifest *m, const struct bootstrap_options *opt,
                      double deadline, char *err, size_t errlen)
{
    const char *hb = host_brokers(m);
    char why[2 * ERRLEN];
    if (!hb || !*hb)
        return cc_errf(err, errlen, CC_EINVAL, "kafka: no brokers (set kafka.brokers)");
    int ticdc_in_container = m->ticdc.present &&
                             manifest_service(m, or_default(m->ticdc.service, "ticdc")) &&
                             !service_is_external(m, or_default(m->ticdc.service, "ticdc"));
    int rc = kafka_admin_ensure_topic(hb, or_default(m->kafka.brokers, hb),
                                      or_default(m->kafka.topic, DEFAULT_TOPIC),
                                      m->kafka.partitions > 0 ? m->kafka.partitions : 3,
                                      m->kafka.replication_factor > 0 ? m->kafka.replication_factor : 1,
                                      ticdc_in_container, deadline, opt->progress, why, sizeof why);
    if (rc != CC_OK)
        return cc_errf(err, errlen, rc, "kafka: %s", why);
    return CC_OK;
}

/* The sink URI the manifest asks for (malloc'd), or NULL with err. */
static char *desired_sink_uri(const struct manifest *m, char *err, size_t errlen)
{
    if (m->ticdc.sink_uri && *m->ticdc.sink_uri)
        return xstrdup(m->ticdc.sink_uri);
    if (!m->kafka.present || !m->kafka.brokers) {
        cc_errf(err, errlen, CC_EINVAL,
                "ticdc: no ticdc.sink_uri and no kafka section to derive it from");
        return NULL;
    }
    return ticdc_default_sink_uri(m->kafka.brokers, or_default(m->kafka.topic, DEFAULT_TOPIC),
                                  m->kafka.partitions > 0 ? m->kafka.partitions : 3,
                                  m->kafka.replication_factor > 0 ? m->kafka.replication_factor
                                                                  : 1);
}

static int step_ticdc(const struct manifest *m, const struct endpoint_resolver *r,
                      const struct bootstrap_options *opt, double deadline, char *err,
                      size_t errlen)
{
    const char *svc = or_default(m->ticdc.service, "ticdc");
    int port = m->ticdc.port > 0 ? m->ticdc.port : 8300;
    const char *id = or_default(m->ticdc.changefeed, "shop-cdc");
    char hp[512], why[2 * ERRLEN];
    struct ticdc_client *c = NULL;
    json_t *cfg = NULL;
    char *sink = NULL;
    int rc;
    static char *const default_rules[] = {"shop.*"};
    struct strlist rules = m->ticdc.filter_rules;
    if (rules.n == 0) {
        rules.items = (char **)default_rules;
        rules.n = 1;
    }
    if ((rc = endpoint_resolve(r, m, svc, port, hp, sizeof hp, why, sizeof why)) != CC_OK)
        return cc_errf(err, errlen, rc, "ticdc: %s", why);
    if (!(sink = desired_sink_uri(m, err, errlen)))
        return CC_EINVAL;
    if (!(cfg = ticdc_desired_config(&rules, (const char *)m->ticdc.config_json,
                                     m->ticdc.config_len, why, sizeof why))) {
        rc = cc_errf(err, errlen, CC_EINVAL, "ticdc: %s%s%s", m->ticdc.config ? m->ticdc.config : "",
                     m->ticdc.config ? ": " : "", why);
        goto out;
    }
    c = ticdc_client_new(hp, 60);
    if ((rc = ticdc_wait_ready(c, deadline, opt->progress, why, sizeof why)) != CC_OK) {
        rc = cc_errf(err, errlen, rc, "ticdc: %s", why);
        goto out;
    }
    struct ticdc_desired d = {id, sink, cfg};
    if ((rc = ticdc_ensure_changefeed(c, &d, opt->progress, why, sizeof why)) != CC_OK)
        rc = cc_errf(err, errlen, rc, "ticdc: %s", why);
out:
    ticdc_client_free(c);
    json_decref(cfg);
    free(sink);
    return rc;
}

int bootstrap_up(const struct manifest *m, const struct endpoint_resolver *r,
                 const struct bootstrap_options *opt, char *err, size_t errlen)
{
    struct bootstrap_options o = {0};
    if (opt)
        o = *opt;
    double deadline = now_monotonic() + (o.timeout_s > 0 ? o.timeout_s : 300);
    int rc = CC_OK;
    if (m->tidb.present && (rc = step_tidb(m, r, &o, deadline, err, errlen)) != CC_OK)
        return rc;
    if (m->kafka.present && (rc = step_kafka(m, &o, deadline, err, errlen)) != CC_OK)
        return rc;
    if (m->ticdc.present && (rc = step_ticdc(m, r, &o, deadline, err, errlen)) != CC_OK)
        return rc;
    return CC_OK;
}

/* ------------------------------------------------------------------ status */

static double status_timeout(const struct bootstrap_options *opt)
{
    double t = opt && opt->timeout_s > 0 ? opt->timeout_s : 5;
    return t > 5 ? 5 : t;
}

static void status_tidb(const struct manifest *m, const struct endpoint_resolver *r,
                        const struct bootstrap_options *opt, struct status_table *t)
{
    const char *svc = or_default(m->tidb.service, "tidb");
    int port = m->tidb.port > 0 ? m->tidb.port : 4000;
    char hp[512], why[ERRLEN], version[128] = "", detail[ERRLEN + 520];
    struct tidb_conn *conn = NULL;
    if (endpoint_resolve(r, m, svc, port, hp, sizeof hp, why, sizeof why) != CC_OK) {
        status_add(t, "tidb", svc, "unreachable", "-", why, NULL, 0);
        return;
    }
    if (tidb_connect(hp, "root", getenv("TIDB_ROOT_PASSWORD"), status_timeout(opt), &conn, NULL,
                     why, sizeof why) != CC_OK ||
        tidb_version(conn, version, sizeof version, why, sizeof why) != CC_OK) {
        snprintf(detail, sizeof detail, "%s: %s", hp, why);
        status_add(t, "tidb", svc, "unreachable", "-", detail,
                   json_pack("{s:s,s:s}", "endpoint", hp, "error", why), 0);
        tidb_close(conn);
        return;
    }
    tidb_close(conn);
    snprintf(detail, sizeof detail, "version %s", version);
    status_add(t, "tidb", svc, "reachable", "-", detail,
               json_pack("{s:s,s:s}", "endpoint", hp, "version", version), 1);
}

static void status_changefeed(const struct manifest *m, const struct endpoint_resolver *r,
                              const struct bootstrap_options *opt, struct status_table *t)
{
    const char *svc = or_default(m->ticdc.service, "ticdc");
    int port = m->ticdc.port > 0 ? m->ticdc.port : 8300;
    const char *id = or_default(m->ticdc.changefeed, "shop-cdc");
    char hp[512], why[ERRLEN];
    struct ticdc_changefeed cf = {0};
    if (endpoint_resolve(r, m, svc, port, hp, sizeof hp, why, sizeof why) != CC_OK) {
        status_add(t, "changefeed", id, "unreachable", "-", why, NULL, 0);
        return;
    }
    struct ticdc_client *c = ticdc_client_new(hp, status_timeout(opt));
    int rc = ticdc_get_changefeed(c, id, &cf, why, sizeof why);
    ticdc_client_free(c);
    if (rc == CC_ENOTFOUND) {
        status_add(t, "changefeed", id, "missing", "-", "not created (run cdcctl up)",
                   json_pack("{s:s}", "endpoint", hp), 0);
        return;
    }
    if (rc != CC_OK) {
        ticdc_scrub_sink_secrets(why, m->ticdc.sink_uri);
        status_add(t, "changefeed", id, "unreachable", "-", why,
                   json_pack("{s:s,s:s}", "endpoint", hp, "error", why), 0);
        return;
    }
    if (cf.error_msg)
        ticdc_scrub_sink_secrets(cf.error_msg, m->ticdc.sink_uri);
    struct strbuf detail = {0};
    json_t *extra = json_pack("{s:s}", "endpoint", hp);
    if (cf.checkpoint_ts) {
        char when[40];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        double lag = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - ticdc_tso_unix(cf.checkpoint_ts);
        if (lag < 0)
            lag = 0;
        ticdc_tso_format(cf.checkpoint_ts, when, sizeof when);
        strbuf_addf(&detail, "checkpoint %s UTC, lag %.1fs", when, lag);
        json_object_set_new(extra, "checkpoint_ts", json_integer((json_int_t)cf.checkpoint_ts));
        json_object_set_new(extra, "checkpoint_time", json_string(when));
        json_object_set_new(extra, "lag_seconds", json_real(lag));
    }
    if (cf.error_code || cf.error_msg) {
        strbuf_addf(&detail, "%serror %s: %s", detail.len ? "; " : "",
                    cf.error_code ? cf.error_code : "-", cf.error_msg ? cf.error_msg : "-");
        json_object_set_new(extra, "error_code", json_string(cf.error_code ? cf.error_code : ""));
        json_object_set_new(extra, "error_message", json_string(cf.error_msg ? cf.error_msg : ""));
    }
    if (cf.sink_uri) {
        char *mk = ticdc_mask_sink_uri(cf.sink_uri);
        json_object_set_new(extra, "sink_uri", json_string(mk));
        free(mk);
    }
    status_add(t, "changefeed", id, cf.state, "-", detail.buf, extra,
               strcmp(cf.state, "normal") == 0);
    strbuf_release(&detail);
    ticdc_changefeed_release(&cf);
}

static void status_topic(const struct manifest *m, const struct bootstrap_options *opt,
                         struct status_table *t)
{
    const char *topic = or_default(m->kafka.topic, DEFAULT_TOPIC);
    const char *hb = host_brokers(m);
    int want = m->kafka.partitions > 0 ? m->kafka.partitions : 3;
    char why[ERRLEN];
    struct kafka_topic_info info = {0};
    if (!hb || !*hb) {
        status_add(t, "topic", topic, "unreachable", "-", "no brokers configured", NULL, 0);
        return;
    }
    int rc = kafka_admin_describe(hb, topic, 1, status_timeout(opt), &info, why, sizeof why);
    if (rc == CC_ENOTFOUND) {
        status_add(t, "topic", topic, "missing", "-", "topic does not exist (run cdcctl up)",
                   json_pack("{s:s}", "brokers", hb), 0);
    } else if (rc != CC_OK) {
        status_add(t, "topic", topic, "unreachable", "-", why,
                   json_pack("{s:s,s:s}", "brokers", hb, "error", why), 0);
    } else {
        struct strbuf detail = {0};
        json_t *offs = json_array();
        strbuf_addf(&detail, "%d partition%s, end offsets ", info.partitions,
                    info.partitions == 1 ? "" : "s");
        for (int p = 0; p < info.partitions; p++) {
            if (info.end_offsets[p] < 0)
                strbuf_addf(&detail, "%s?", p ? "," : "");
            else
                strbuf_addf(&detail, "%s%lld", p ? "," : "", (long long)info.end_offsets[p]);
            json_array_append_new(offs, json_integer((json_int_t)info.end_offsets[p]));
        }
        int ok = info.partitions >= want;
        if (!ok)
            strbuf_addf(&detail, " (the manifest asks for %d partitions)", want);
        status_add(t, "topic", topic, "exists", "-", detail.buf,
                   json_pack("{s:s,s:i,s:o}", "brokers", hb, "partitions", info.partitions,
                             "end_offsets", offs),
                   ok);
        strbuf_release(&detail);
    }
    kafka_topic_info_release(&info);
}

void bootstrap_status(const struct manifest *m, const struct endpoint_resolver *r,
                      const struct bootstrap_options *opt, struct status_table *t)
{
    if (m->tidb.present)
        status_tidb(m, r, opt, t);
    if (m->ticdc.present)
        status_changefeed(m, r, opt, t);
    if (m->kafka.present)
        status_topic(m, opt, t);
}
