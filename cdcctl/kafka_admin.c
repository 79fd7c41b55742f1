/* kafka_admin: topic describe/create/end offsets with librdkafka. */
#include "kafka_admin.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* librdkafka logs connection failures to stderr by default; keep the last
 * error line instead so messages can carry it. */
struct quiet {
    char last[256];
};

/* Keeps the useful middle of a librdkafka line:
 * "[thrd:B/bootstrap]: B/bootstrap: Connect to ipv4#B failed: Connection refused
 * (after 0ms in state CONNECT)" -> "Connect to ipv4#B failed: Connection refused". */
static void keep_reason(struct quiet *q, const char *line)
{
    const char *p = line, *c;
    if (*p == '[' && (c = strstr(p, "]: ")))
        p = c + 3;
    c = strstr(p, ": ");
    if (c && memchr(p, '/', (size_t)(c - p)) && !memchr(p, ' ', (size_t)(c - p)))
        p = c + 2; /* "broker/id: " */
    size_t n = strlen(p);
    const char *after = strstr(p, " (after ");
    if (after)
        n = (size_t)(after - p);
    snprintf(q->last, sizeof q->last, "%.*s", (int)n, p);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)level;
    (void)fac;
    struct quiet *q = rd_kafka_opaque(rk);
    if (q)
        keep_reason(q, buf);
}

static void error_cb(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    (void)rk;
    (void)e;
    struct quiet *q = opaque;
    if (q)
        keep_reason(q, reason);
}

static rd_kafka_t *new_client(const char *brokers, double timeout_s, struct quiet *q, char *err,
                              size_t errlen)
{
    char errstr[512];
    char tmo[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(tmo, sizeof tmo, "%d", (int)(timeout_s * 1000) < 1000 ? 1000 : (int)(timeout_s * 1000));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "socket.timeout.ms", tmo, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "log.connection.close", "false", errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        cc_errf(err, errlen, CC_EINVAL, "kafka client configuration: %s", errstr);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, q);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        cc_errf(err, errlen, CC_ERR, "kafka client: %s", errstr);
        return NULL;
    }
    return rk;
}

void kafka_topic_info_release(struct kafka_topic_info *info)
{
    if (!info)
        return;
    free(info->end_offsets);
    for (size_t i = 0; i < info->nbrokers; i++)
        free(info->brokers[i]);
    free(info->brokers);
    memset(info, 0, sizeof *info);
}

int kafka_admin_describe(const char *brokers, const char *topic, int want_offsets,
                         double timeout_s, struct kafka_topic_info *info, char *err,
                         size_t errlen)
{
    struct quiet q = {""};
    const struct rd_kafka_metadata *md = NULL;
    int rc = CC_OK;
    memset(info, 0, sizeof *info);
    rd_kafka_t *rk = new_client(brokers, timeout_s, &q, err, errlen);
    if (!rk)
        return CC_ERR;
    int tmo = (int)(timeout_s * 1000);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, tmo < 1000 ? 1000 : tmo);
    if (e) {
        if (q.last[0])
            rc = cc_errf(err, errlen, CC_ERR, "no answer from brokers %s: %s (%s)", brokers,
                         rd_kafka_err2str(e), q.last);
        else
            rc = cc_errf(err, errlen, CC_ERR, "no answer from brokers %s: %s", brokers,
                         rd_kafka_err2str(e));
        goto out;
    }
    info->brokers = xcalloc((size_t)md->broker_cnt + 1, sizeof *info->brokers);
    for (int i = 0; i < md->broker_cnt; i++) {
        struct strbuf sb = {0};
        const char *h = md->brokers[i].host;
        strbuf_addf(&sb, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, md->brokers[i].port);
        info->brokers[info->nbrokers++] = strbuf_detach(&sb);
    }
    const struct rd_kafka_metadata_topic *t = NULL;
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0)
            t = &md->topics[i];
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        rc = cc_errf(err, errlen, CC_ENOTFOUND, "topic %s does not exist", topic);
        goto out;
    }
    if (t->err) {
        rc = cc_errf(err, errlen, CC_ERR, "topic %s: %s", topic, rd_kafka_err2str(t->err));
        goto out;
    }
    info->partitions = t->partition_cnt;
    if (want_offsets) {
        info->end_offsets = xcalloc((size_t)t->partition_cnt + 1, sizeof *info->end_offsets);
        for (int p = 0; p < t->partition_cnt; p++) {
            int64_t lo = -1, hi = -1;
            int32_t id = t->partitions[p].id;
            if (id < 0 || id >= t->partition_cnt)
                continue;
            if (rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, tmo < 1000 ? 1000 : tmo))
                hi = -1;
            info->end_offsets[id] = hi;
        }
    }
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int kafka_admin_create_topic(const char *brokers, const char *topic, int partitions,
                             int replication_factor, double timeout_s, char *err, size_t errlen)
{
    struct quiet q = {""};
    char errstr[512];
    char why[600] = "";
    int rc = CC_ERR;
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *ev = NULL;
    rd_kafka_t *rk = new_client(brokers, timeout_s, &q, err, errlen);
    if (!rk)
        return CC_ERR;
    int tmo = (int)(timeout_s * 1000);
    if (tmo < 1000)
        tmo = 1000;
    if (partitions < 1 || replication_factor < 1) {
        snprintf(why, sizeof why, "partitions and replication factor must be at least 1");
        goto out;
    }
    nt = rd_kafka_NewTopic_new(topic, partitions, replication_factor, errstr, sizeof errstr);
    if (!nt) {
        snprintf(why, sizeof why, "%s", errstr);
        goto out;
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_request_timeout(opts, tmo, errstr, sizeof errstr) ||
        rd_kafka_AdminOptions_set_operation_timeout(opts, tmo, errstr, sizeof errstr)) {
        snprintf(why, sizeof why, "%s", errstr);
        goto out;
    }
    queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, queue);
    ev = rd_kafka_queue_poll(queue, tmo + 5000);
    if (!ev) {
        snprintf(why, sizeof why, "no answer within %d ms", tmo + 5000);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(why, sizeof why, "%s", rd_kafka_event_error_string(ev));
        goto out;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    if (!tr || n != 1) {
        snprintf(why, sizeof why, "unexpected CreateTopics answer");
        goto out;
    }
    rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[0]);
    if (te == RD_KAFKA_RESP_ERR_NO_ERROR || te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        rc = CC_OK;
        goto out;
    }
    const char *ts = rd_kafka_topic_result_error_string(tr[0]);
    snprintf(why, sizeof why, "%s%s%s", rd_kafka_err2name(te), ts && *ts ? ": " : "",
             ts ? ts : "");
out:
    if (rc != CC_OK)
        cc_errf(err, errlen, CC_ERR,
                "cannot create topic %s: %s; create it yourself with: kafka-topics.sh "
                "--bootstrap-server %s --create --topic %s --partitions %d "
                "--replication-factor %d",
                topic, why, brokers, topic, partitions, replication_factor);
    if (ev)
        rd_kafka_event_destroy(ev);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return rc;
}

/* host part of "host:port" / "[v6]:port" into out. */
static void host_of(const char *hp, char *out, size_t outlen)
{
    const char *end;
    if (hp[0] == '[' && (end = strchr(hp, ']'))) {
        snprintf(out, outlen, "%.*s", (int)(end - hp - 1), hp + 1);
        return;
    }
    end = strrchr(hp, ':');
    snprintf(out, outlen, "%.*s", end ? (int)(end - hp) : (int)strlen(hp), hp);
}

static int is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0 || strcmp(host, "0.0.0.0") == 0;
}

/* Same broker list, ignoring order and blanks. */
static int same_list(const char *a, const char *b)
{
    char *x = xstrdup(a), *y = xstrdup(b), *s1 = NULL, *s2 = NULL;
    int same = 1, na = 0, nb = 0;
    for (char *t = strtok_r(x, ", ", &s1); t; t = strtok_r(NULL, ", ", &s1)) {
        na++;
        if (!strstr(b, t))
            same = 0;
    }
    for (char *t = strtok_r(y, ", ", &s2); t; t = strtok_r(NULL, ", ", &s2))
        nb++;
    free(x);
    free(y);
    return same && na == nb;
}

int kafka_admin_check_advertised(const char *sink_brokers, const char *host_brokers,
                                 int ticdc_in_container, char *const *advertised, size_t n,
                                 char *warn, size_t warnlen)
{
    if (!sink_brokers || !host_brokers || n == 0 || !same_list(sink_brokers, host_brokers))
        return 0;
    char h[256];
    for (size_t i = 0; i < n; i++) {
        host_of(advertised[i], h, sizeof h);
        if (!is_loopback(h))
            return 0;
    }
    char first[256];
    char *copy = xstrdup(sink_brokers);
    char *save = NULL, *tok = strtok_r(copy, ", ", &save);
    host_of(tok ? tok : "", first, sizeof first);
    free(copy);
    if (!ticdc_in_container && is_loopback(first))
        return 0;
    struct strbuf adv = {0};
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&adv, "%s%s", i ? "," : "", advertised[i]);
    snprintf(warn, warnlen,
             "the brokers advertise only %s, and TiCDC (%s) dials what the brokers advertise: "
             "advertise an in-network listener (for example kafka:29092) and set kafka.brokers "
             "to it, keeping a separate host listener for kafka.host_brokers",
             adv.buf, ticdc_in_container ? "in a container" : "on another host");
    strbuf_release(&adv);
    return 1;
}

int kafka_admin_ensure_topic(const char *host_brokers, const char *sink_brokers,
                             const char *topic, int partitions, int replication_factor,
                             int ticdc_in_container, double deadline, FILE *progress, char *err,
                             size_t errlen)
{
    struct kafka_topic_info info = {0};
    char why[ERRLEN], last[ERRLEN] = "";
    double delay = 0.5;
    int rc;
    for (;;) {
        double left = deadline - now_monotonic();
        rc = kafka_admin_describe(host_brokers, topic, 0, left > 10 ? 10 : (left < 1 ? 1 : left),
                                  &info, why, sizeof why);
        if (rc != CC_ERR)
            break;
        kafka_topic_info_release(&info);
        if (progress && strcmp(why, last) != 0) {
            fprintf(progress, "kafka: waiting for brokers (%s)\n", why);
            fflush(progress);
            snprintf(last, sizeof last, "%s", why);
        }
        if (now_monotonic() + delay > deadline)
            return cc_errf(err, errlen, CC_ETIMEOUT, "%s", why);
        sleep_seconds(delay);
        delay = delay * 2 > 5 ? 5 : delay * 2;
    }
    char warn[ERRLEN];
    if (progress && kafka_admin_check_advertised(sink_brokers, host_brokers, ticdc_in_container,
                                                 info.brokers, info.nbrokers, warn, sizeof warn))
        fprintf(progress, "kafka: warning: %s\n", warn);
    if (rc == CC_ENOTFOUND) {
        double left = deadline - now_monotonic();
        rc = kafka_admin_create_topic(host_brokers, topic, partitions, replication_factor,
                                      left > 30 ? 30 : (left < 2 ? 2 : left), err, errlen);
        if (rc == CC_OK && progress)
            fprintf(progress, "kafka: created topic %s (%d partitions, replication factor %d)\n",
                    topic, partitions, replication_factor);
        goto out;
    }
    if (rc != CC_OK) {
        rc = cc_errf(err, errlen, rc, "%s", why);
        goto out;
    }
    if (info.partitions < partitions) {
        rc = cc_errf(err, errlen, CC_ERR,
                     "topic %s has %d partition%s but the manifest asks for %d, and TiCDC "
                     "refuses a partition-num above the topic's: add partitions "
                     "(kafka-topics.sh --bootstrap-server %s --alter --topic %s --partitions %d) "
                     "or set kafka.partitions: %d",
                     topic, info.partitions, info.partitions == 1 ? "" : "s", partitions,
                     host_brokers, topic, partitions, info.partitions);
        goto out;
    }
    if (progress) {
        if (info.partitions > partitions)
            fprintf(progress,
                    "kafka: topic %s exists with %d partitions (the manifest asks for %d; "
                    "TiCDC writes to the first %d)\n",
                    topic, info.partitions, partitions, partitions);
        else
            fprintf(progress, "kafka: topic %s exists (%d partition%s)\n", topic,
                    info.partitions, info.partitions == 1 ? "" : "s");
    }
out:
    if (progress)
        fflush(progress);
    kafka_topic_info_release(&info);
    return rc;
}
