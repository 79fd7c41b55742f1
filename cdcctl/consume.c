/* consume: the Kafka loop of `cdcctl consume` (see consume.h).
 *
 * Hot path per message: one canal_decode (single-pass scanner, no allocation), a cached lookup
 * of the (database, table) series, a few atomic metric updates, and the CDC_EVENT
 * line formatted by hand into a 128 KiB output buffer that is written to stdout and
 * the log file with write(2). No malloc, no snprintf, no JSON DOM per message.
 *
 * At-least-once: for each partition we remember the highest processed offset
 * (+1). A "commit point" writes the output buffer, gets the Elasticsearch queue
 * acknowledged, and only then calls rd_kafka_offsets_store; librdkafka's
 * auto-commit (and an explicit async commit after each Elasticsearch flush)
 * sends the stored offsets to the group coordinator. */
#include "consume.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdcevent.h"
#include "essink.h"

#define OUTBUF_SIZE (128u << 10)
#define NOES_BATCH_MSGS 20000   /* store offsets at least this often without Elasticsearch */
#define NOES_BATCH_SEC 0.5
#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 30.0
#define SHUTDOWN_ES_SEC 10.0    /* how long SIGTERM waits for Elasticsearch */
#define POLL_BATCH 64           /* messages taken from the consumer queue per call */
#define CLOCK_EVERY 64          /* messages per clock reading (the coarse clock ticks every ms or more) */

enum { OP_INSERT, OP_UPDATE, OP_DELETE, OP_DDL, NOPS };
static const char *const op_names[NOPS] = {"insert", "update", "delete", "ddl"};

/* Cached per (database, table) as they appear (escaped) in messages. */
struct tentry {
    uint64_t hash;
    char *key; /* database bytes then table bytes */
    size_t dblen, tblen;
    char *seg; /* " database=D table=T" as written in CDC_EVENT lines */
    size_t seglen;
    struct metric_series *ops[NOPS];
    uint64_t unflushed[NOPS]; /* changes not yet added to ops[] (see flush_metrics) */
    struct canal_str db, tb;  /* copies of the names (for lazily created series) */
};

struct pstate {
    int assigned;
    int eof;
    int64_t pending; /* offset to store (last processed + 1), -1 = nothing pending */
    int64_t next;    /* last offset seen + 1, -1 = none yet (for wake_fetchers) */
};

struct consumer {
    const struct consume_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q; /* the consumer queue, for batch reads */
    struct canal_decoder *dec;
    struct essink *es;
    size_t topic_len;

    int log_fd;
    char *ob;
    size_t oblen, obcap;

    struct tentry *tab;
    size_t tabcap, tabn;
    struct tentry *last; /* the entry of the previous message (NULL after tab_grow) */
    double real_now;     /* now_real(), refreshed every CLOCK_EVERY messages and when idle */
    unsigned clock_left;

    struct pstate *parts;
    size_t nparts;
    size_t nassigned;
    size_t pending_msgs;
    double pending_since;
    uint64_t unflushed_msgs; /* messages not yet added to cdc_messages_total */
    double delay_v;          /* end-to-end delay observed delay_n times, not yet in m_delay */
    uint64_t delay_n;
    uint64_t n_msgs, n_lines, n_bad; /* for the summary at the end */

    /* Elasticsearch retry state: partitions are paused while retrying. */
    int retrying;
    double backoff, next_retry, last_es_log;
    char last_es_err[ERRLEN];
    unsigned rnd;

    int closing;
    int up;   /* last value of cdc_consumer_up */
    int busy; /* the last poll returned a message */
    int eof_changed; /* a partition reached its end or the assignment changed (--exit-at-eof) */
    int store_err_logged;
    int fatal;
    char fatal_err[ERRLEN];
    rd_kafka_resp_err_t last_kerr;
    double last_kerr_at;

    struct metric_family *f_changes, *f_lag, *f_kerrs;
    struct metric_series *m_messages, *m_decode_errors, *m_watermark, *m_delay, *m_up, *m_assigned;
};

static void clog_(struct consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void clog_(struct consumer *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!c->cfg->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->cfg->log(c->cfg->log_ctx, msg);
}

static void set_fatal(struct consumer *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fatal(struct consumer *c, const char *fmt, ...)
{
    va_list ap;
    if (c->fatal)
        return;
    c->fatal = 1;
    va_start(ap, fmt);
    vsnprintf(c->fatal_err, sizeof c->fatal_err, fmt, ap);
    va_end(ap);
}

/* Coarse clocks (a few ms resolution) are plain memory reads in the vDSO; the hot
 * path reads the clock once or twice per message. */
static double now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- output: stdout + log file ----------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the output buffer out. Sets fatal on a write error. */
static int flush_out(struct consumer *c)
{
    if (c->oblen == 0 || c->fatal)
        return c->fatal ? CC_ERR : CC_OK;
    if (c->cfg->out_fd >= 0 && write_all(c->cfg->out_fd, c->ob, c->oblen) != 0) {
        set_fatal(c, "stdout: %s", strerror(errno));
        return CC_ERR;
    }
    if (c->log_fd >= 0 && write_all(c->log_fd, c->ob, c->oblen) != 0) {
        set_fatal(c, "log file %s: %s", c->cfg->log_file, strerror(errno));
        return CC_ERR;
    }
    c->oblen = 0;
    if (c->obcap > 4 * OUTBUF_SIZE) { /* shrink after a huge row */
        c->obcap = OUTBUF_SIZE;
        c->ob = xrealloc(c->ob, c->obcap);
    }
    return CC_OK;
}

/* Room for need bytes at the end of the output buffer. */
static char *reserve_out(struct consumer *c, size_t need)
{
    if (c->obcap - c->oblen < need) {
        flush_out(c);
        if (c->obcap - c->oblen < need) {
            c->obcap = c->oblen + need;
            c->ob = xrealloc(c->ob, c->obcap);
        }
    }
    return c->ob + c->oblen;
}

static int open_log(struct consumer *c, char *err, size_t errlen)
{
    int fd = open(c->cfg->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return cc_errf(err, errlen, CC_ERR, "log file %s: %s", c->cfg->log_file, strerror(errno));
    if (c->log_fd >= 0)
        close(c->log_fd);
    c->log_fd = fd;
    return CC_OK;
}

static void reopen_log(struct consumer *c)
{
    char err[ERRLEN];
    *c->cfg->reopen = 0;
    if (!c->cfg->log_file || flush_out(c) != CC_OK)
        return;
    if (open_log(c, err, sizeof err) != CC_OK)
        set_fatal(c, "%s", err);
    else
        clog_(c, "reopened log file %s", c->cfg->log_file);
}

/* ---- (database, table) cache -------------------------------------------------- */

static uint64_t hash_names(const struct canal_str *db, const struct canal_str *tb)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < db->len; i++)
        h = (h ^ (unsigned char)db->p[i]) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","c") != ("a","bc") */
    for (size_t i = 0; i < tb->len; i++)
        h = (h ^ (unsigned char)tb->p[i]) * 1099511628211ULL;
    return h;
}

static void tab_grow(struct consumer *c)
{
    size_t ncap = c->tabcap ? c->tabcap * 2 : 64;
    struct tentry *nt = xcalloc(ncap, sizeof *nt);
    for (size_t i = 0; i < c->tabcap; i++) {
        if (!c->tab[i].key)
            continue;
        size_t j = c->tab[i].hash & (ncap - 1);
        while (nt[j].key)
            j = (j + 1) & (ncap - 1);
        nt[j] = c->tab[i];
    }
    free(c->tab);
    c->tab = nt;
    c->tabcap = ncap;
    c->last = NULL;
}

static struct tentry *tab_find(struct consumer *c, const struct canal_str *db, const struct canal_str *tb);

static struct tentry *tab_get(struct consumer *c, const struct canal_str *db, const struct canal_str *tb)
{
    struct tentry *l = c->last; /* runs of one table are the rule (a partition per table) */
    if (l && l->dblen == db->len && l->tblen == tb->len && memcmp(l->key, db->p, db->len) == 0 &&
        memcmp(l->key + db->len, tb->p, tb->len) == 0)
        return l;
    c->last = tab_find(c, db, tb);
    return c->last;
}

static struct tentry *tab_find(struct consumer *c, const struct canal_str *db, const struct canal_str *tb)
{
    uint64_t h = hash_names(db, tb);
    if (c->tabcap) {
        size_t j = h & (c->tabcap - 1);
        for (;;) {
            struct tentry *e = &c->tab[j];
            if (!e->key)
                break;
            if (e->hash == h && e->dblen == db->len && e->tblen == tb->len &&
                memcmp(e->key, db->p, db->len) == 0 && memcmp(e->key + db->len, tb->p, tb->len) == 0)
                return e;
            j = (j + 1) & (c->tabcap - 1);
        }
    }
    if ((c->tabn + 1) * 2 > c->tabcap)
        tab_grow(c);
    size_t j = h & (c->tabcap - 1);
    while (c->tab[j].key)
        j = (j + 1) & (c->tabcap - 1);
    struct tentry *e = &c->tab[j];
    e->hash = h;
    e->dblen = db->len;
    e->tblen = tb->len;
    e->key = xmalloc(db->len + tb->len + 1);
    if (db->len)
        memcpy(e->key, db->p, db->len);
    if (tb->len)
        memcpy(e->key + db->len, tb->p, tb->len);
    e->db = (struct canal_str){e->key, db->len, db->escaped};
    e->tb = (struct canal_str){e->key + db->len, tb->len, tb->escaped};
    e->seg = cdcevent_segment(db, tb, &e->seglen);
    c->tabn++;
    return e;
}

/* The db_changes_total series of entry e and op, created on first use. */
static struct metric_series *op_series(struct consumer *c, struct tentry *e, int op)
{
    if (e->ops[op])
        return e->ops[op];
    char *vals[3] = {NULL, NULL, NULL};
    size_t lens[3];
    const struct canal_str *names[2] = {&e->db, &e->tb};
    for (int i = 0; i < 2; i++) {
        size_t n = canal_str_copy(*names[i], NULL, 0);
        vals[i] = xmalloc(n + 1);
        canal_str_copy(*names[i], vals[i], n + 1);
        lens[i] = strlen(vals[i]);
    }
    lens[2] = strlen(op_names[op]);
    const char *cv[3] = {vals[0], vals[1], op_names[op]};
    e->ops[op] = metric_series_get(c->f_changes, cv, lens);
    free(vals[0]);
    free(vals[1]);
    return e->ops[op];
}

/* Adds the locally counted changes and messages to their series (every 1024
 * messages, when idle and at commit points): one atomic add per series instead
 * of several per message. */
static void flush_metrics(struct consumer *c)
{
    if (c->unflushed_msgs) {
        metric_add(c->m_messages, (double)c->unflushed_msgs);
        c->unflushed_msgs = 0;
    }
    if (c->delay_n) {
        metric_observe_n(c->m_delay, c->delay_v, c->delay_n);
        c->delay_n = 0;
    }
    for (size_t i = 0; i < c->tabcap; i++) {
        struct tentry *e = &c->tab[i];
        if (!e->key)
            continue;
        for (int op = 0; op < NOPS; op++)
            if (e->unflushed[op]) {
                metric_add(op_series(c, e, op), (double)e->unflushed[op]);
                e->unflushed[op] = 0;
            }
    }
}

/* ---- partitions, offsets ------------------------------------------------------ */

static struct pstate *part(struct consumer *c, int32_t p)
{
    if (p < 0)
        return NULL;
    if ((size_t)p >= c->nparts) {
        size_t n = (size_t)p + 16;
        c->parts = xrealloc(c->parts, n * sizeof *c->parts);
        for (size_t i = c->nparts; i < n; i++)
            c->parts[i] = (struct pstate){0, 0, -1, -1};
        c->nparts = n;
    }
    return &c->parts[p];
}

static void mark_processed(struct consumer *c, int32_t partition, int64_t offset)
{
    struct pstate *ps = part(c, partition);
    if (!ps)
        return;
    if (offset + 1 > ps->pending)
        ps->pending = offset + 1;
    if (c->pending_msgs++ == 0)
        c->pending_since = now_mono();
}

/* Stores every pending offset (their lines are written and documents acknowledged). */
static void store_offsets(struct consumer *c)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < c->nparts; i++) {
        struct pstate *ps = &c->parts[i];
        if (ps->pending >= 0 && ps->assigned)
            rd_kafka_topic_partition_list_add(l, c->cfg->topic, (int32_t)i)->offset = ps->pending;
        ps->pending = -1;
    }
    c->pending_msgs = 0;
    if (l->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
        if (e && e != RD_KAFKA_RESP_ERR__STATE && !c->store_err_logged) {
            c->store_err_logged = 1; /* e.g. -X enable.auto.offset.store=true */
            clog_(c, "kafka: storing offsets: %s", rd_kafka_err2str(e));
        }
        /* With Elasticsearch, commit now rather than within auto.commit.interval.ms,
         * so a crash re-sends little more than the unacknowledged tail. */
        if (c->es && !c->closing)
            rd_kafka_commit(c->rk, l, 1);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void pause_all(struct consumer *c, int pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(c->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l && l->cnt > 0) {
        if (pause)
            rd_kafka_pause_partitions(c->rk, l);
        else
            rd_kafka_resume_partitions(c->rk, l);
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
}

static void es_log_failure(struct consumer *c, const char *err)
{
    double now = now_mono();
    if (strcmp(err, c->last_es_err) != 0 || now - c->last_es_log >= 30) {
        clog_(c, "%s (retrying in the background; consumption paused)", err);
        snprintf(c->last_es_err, sizeof c->last_es_err, "%s", err);
        c->last_es_log = now;
    }
}

/* Writes the lines, gets the Elasticsearch queue acknowledged, stores offsets.
 * CC_ERR when Elasticsearch (or the output) failed; offsets stay pending. */
static int commit_point(struct consumer *c)
{
    char err[ERRLEN];
    flush_metrics(c);
    if (flush_out(c) != CC_OK)
        return CC_ERR;
    if (c->es && essink_flush(c->es, err, sizeof err) != CC_OK) {
        es_log_failure(c, err);
        return CC_ERR;
    }
    store_offsets(c);
    return CC_OK;
}

static void schedule_retry(struct consumer *c)
{
    double now = now_mono();
    if (!c->retrying) {
        c->retrying = 1;
        c->backoff = BACKOFF_MIN;
        pause_all(c, 1);
    } else {
        c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
    }
    /* Jitter: between half and all of the backoff. */
    double j = 0.5 + 0.5 * (rand_r(&c->rnd) / (double)RAND_MAX);
    c->next_retry = now + c->backoff * j;
}

/* A commit point from the loop; enters or leaves retry mode. */
static void loop_commit(struct consumer *c)
{
    if (commit_point(c) == CC_OK) {
        if (c->retrying) {
            c->retrying = 0;
            c->last_es_err[0] = '\0';
            pause_all(c, 0);
            clog_(c, "elasticsearch: caught up; consumption resumed");
        }
    } else if (!c->fatal) {
        schedule_retry(c);
    }
}

/* ---- callbacks ------------------------------------------------------------------ */

static void list_parts(const rd_kafka_topic_partition_list_t *l, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < l->cnt && n + 12 < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%d", i ? "," : "", (int)l->elems[i].partition);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
                         void *opaque)
{
    struct consumer *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    char names[256];
    list_parts(l, names, sizeof names);
    rd_kafka_error_t *e = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!coop) /* eager: the list is the whole assignment */
            for (size_t i = 0; i < c->nparts; i++)
                c->parts[i].assigned = 0;
        for (int i = 0; i < l->cnt; i++) {
            struct pstate *ps = part(c, l->elems[i].partition);
            if (ps) {
                ps->assigned = 1;
                ps->eof = 0;
                ps->pending = -1;
                ps->next = -1;
            }
        }
        if (coop)
            e = rd_kafka_incremental_assign(rk, l);
        else
            rd_kafka_assign(rk, l);
        if (c->retrying && l->cnt > 0)
            rd_kafka_pause_partitions(rk, l);
        clog_(c, "assigned topic=%s partitions=%s", c->cfg->topic, names);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* Finish what was read before someone else gets these partitions. */
        if (!rd_kafka_assignment_lost(rk) && !c->closing && c->pending_msgs > 0)
            commit_point(c);
        for (int i = 0; i < l->cnt; i++) {
            struct pstate *ps = part(c, l->elems[i].partition);
            if (ps) {
                ps->assigned = 0;
                ps->pending = -1;
            }
            if (c->f_lag) {
                char pb[16];
                int n = snprintf(pb, sizeof pb, "%d", (int)l->elems[i].partition);
                const char *v[2] = {c->cfg->topic, pb};
                size_t lens[2] = {c->topic_len, (size_t)n};
                metric_set(metric_series_get(c->f_lag, v, lens), 0);
            }
        }
        if (coop)
            e = rd_kafka_incremental_unassign(rk, l);
        else
            rd_kafka_assign(rk, NULL);
        clog_(c, "revoked topic=%s partitions=%s%s", c->cfg->topic, names,
              rd_kafka_assignment_lost(rk) ? " (assignment lost)" : "");
    } else {
        clog_(c, "kafka: rebalance: %s", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
    if (e) {
        clog_(c, "kafka: rebalance: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++)
        n += c->parts[i].assigned != 0;
    c->nassigned = n;
    c->eof_changed = 1;
    metric_set(c->m_assigned, (double)n);
}

static void count_kafka_error(struct consumer *c, rd_kafka_resp_err_t err)
{
    const char *name = rd_kafka_err2name(err);
    const char *v[1] = {name};
    size_t lens[1] = {strlen(name)};
    metric_add(metric_series_get(c->f_kerrs, v, lens), 1);
}

/* Logs a Kafka error unless the same one was logged in the last 30 s. */
static void kafka_error(struct consumer *c, rd_kafka_resp_err_t err, const char *reason)
{
    double now = now_mono();
    count_kafka_error(c, err);
    if (err == c->last_kerr && now - c->last_kerr_at < 30)
        return;
    c->last_kerr = err;
    c->last_kerr_at = now;
    clog_(c, "kafka: %s", reason);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct consumer *c = opaque;
    char fatal[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        set_fatal(c, "kafka: fatal error: %s", fatal);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        c->up = 0;
        metric_set(c->m_up, 0);
    }
    kafka_error(c, (rd_kafka_resp_err_t)err, reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct consumer *c = rd_kafka_opaque(rk);
    (void)level;
    if (strcmp(fac, "FAIL") == 0)
        return; /* connection failures: on_error reports them (rate-limited) */
    clog_(c, "kafka: %s: %s", fac, buf);
}

/* Consumer lag per partition from the statistics JSON (every statistics.interval.ms). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct consumer *c = opaque;
    (void)rk;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *parts = json_object_get(json_object_get(json_object_get(root, "topics"), c->cfg->topic),
                                    "partitions");
    const char *key;
    json_t *p;
    json_object_foreach(parts, key, p)
    {
        if (strcmp(key, "-1") == 0)
            continue;
        long pn = strtol(key, NULL, 10);
        if (pn < 0 || (size_t)pn >= c->nparts || !c->parts[pn].assigned)
            continue;
        json_t *lagj = json_object_get(p, "consumer_lag_stored");
        if (!json_is_integer(lagj) || json_integer_value(lagj) < 0)
            lagj = json_object_get(p, "consumer_lag");
        if (!json_is_integer(lagj) || json_integer_value(lagj) < 0)
            continue;
        const char *v[2] = {c->cfg->topic, key};
        size_t lens[2] = {c->topic_len, strlen(key)};
        metric_set(metric_series_get(c->f_lag, v, lens), (double)json_integer_value(lagj));
    }
    json_decref(root);
    return 0; /* librdkafka frees json */
}

/* ---- messages -------------------------------------------------------------------- */

static int op_index(const char *op)
{
    switch (op[0]) {
    case 'i':
        return OP_INSERT;
    case 'u':
        return OP_UPDATE;
    default:
        return op[1] == 'd' ? OP_DDL : OP_DELETE;
    }
}

static void handle_message(struct consumer *c, const rd_kafka_message_t *km)
{
    struct canal_msg m;
    char why[256];
    int32_t partition = km->partition;
    int64_t offset = km->offset;
    c->unflushed_msgs++;
    c->n_msgs++;
    const char *payload = km->payload ? (const char *)km->payload : "";
    if (canal_decode(c->dec, payload, km->len, &m, why, sizeof why) != CC_OK) {
        metric_add(c->m_decode_errors, 1);
        c->n_bad++;
        clog_(c, "skipping undecodable message topic=%s partition=%d offset=%lld: %s", c->cfg->topic,
              (int)partition, (long long)offset, why);
        mark_processed(c, partition, offset);
        return;
    }
    if (m.kind == CANAL_WATERMARK) {
        double wm = m.watermark_ts ? (double)(m.watermark_ts >> 18) / 1000.0 : (double)m.es_ms / 1000.0;
        metric_set(c->m_watermark, wm);
        mark_processed(c, partition, offset);
        return;
    }
    if (m.es_ms > 0) {
        /* Consecutive equal delays (one transaction's rows within one tick of the
         * coarse clock) are observed at once when they stop repeating. */
        if (c->clock_left-- == 0) {
            c->real_now = now_real();
            c->clock_left = CLOCK_EVERY - 1;
        }
        double d = c->real_now - (double)m.es_ms / 1000.0;
        if (d < 0)
            d = 0;
        if (c->delay_n && d != c->delay_v) {
            metric_observe_n(c->m_delay, c->delay_v, c->delay_n);
            c->delay_n = 0;
        }
        c->delay_v = d;
        c->delay_n++;
    }
    struct tentry *e = tab_get(c, &m.database, &m.table);
    int op = op_index(m.op);
    const char *topic = c->cfg->topic;
    struct essink_doc doc = {0};
    if (c->es) {
        doc = (struct essink_doc){
            .topic = topic, .partition = partition, .offset = offset, .es_ms = m.es_ms,
            .commit_ts = m.commit_ts, .database = m.database.p, .database_len = m.database.len,
            .table = m.table.p, .table_len = m.table.len, .op = op_names[op], .type = m.type.p,
            .type_len = m.type.len,
        };
    }
    if (m.kind == CANAL_DDL) {
        e->unflushed[OP_DDL]++;
        c->n_lines++;
        char *p = reserve_out(c, cdcevent_max_len(&m, c->topic_len, e->seglen, 0));
        char *end = cdcevent_put(p, topic, c->topic_len, partition, offset, e->seg, e->seglen, "ddl", &m,
                                 NULL);
        c->oblen += (size_t)(end - p);
        if (c->es) {
            doc.sql = m.sql.p ? m.sql.p : "";
            doc.sql_len = m.sql.len;
            essink_add(c->es, &doc);
        }
    } else {
        e->unflushed[op] += m.nrows;
        c->n_lines += m.nrows;
        for (size_t i = 0; i < m.nrows; i++) {
            const struct canal_row *r = &m.rows[i];
            char *p = reserve_out(c, cdcevent_max_len(&m, c->topic_len, e->seglen, r->len));
            char *end = cdcevent_put(p, topic, c->topic_len, partition, offset, e->seg, e->seglen,
                                 op_names[op], &m, r);
            c->oblen += (size_t)(end - p);
            if (c->es) {
                doc.row = i;
                doc.data = r->json;
                doc.data_len = r->len;
                essink_add(c->es, &doc);
            }
        }
    }
    mark_processed(c, partition, offset);
}

/* librdkafka 2.0.2 stops fetching while its local queue is over
 * queued.max.messages.kbytes and looks again only after up to a second
 * (librdkafka issue #2879; fetch.queue.backoff.ms arrives in 2.2.0). With the
 * small queue that keeps our memory low, a consumer that drains the queue in
 * 20 ms would then idle for the rest of the second. So when the queue ran dry
 * while a partition is known to have more data (its cached high watermark is
 * past what we consumed), ask the leaders for their latest offsets: the request
 * wakes each leader's broker thread, which then fetches at once. */
static void wake_fetchers(struct consumer *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < c->nparts; i++) {
        struct pstate *ps = &c->parts[i];
        int64_t lo = -1, hi = -1;
        if (!ps->assigned || ps->next < 0 ||
            rd_kafka_get_watermark_offsets(c->rk, c->cfg->topic, (int32_t)i, &lo, &hi) != 0 ||
            hi <= ps->next)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, c->cfg->topic, (int32_t)i)->offset = RD_KAFKA_OFFSET_END;
    }
    if (l) {
        rd_kafka_offsets_for_times(c->rk, l, 1000); /* the answer itself is not needed */
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Every assigned partition has reported end of partition. */
static int all_eof(const struct consumer *c)
{
    if (c->nassigned == 0)
        return 0;
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].assigned && !c->parts[i].eof)
            return 0;
    return 1;
}

static void handle_event(struct consumer *c, rd_kafka_message_t *km)
{
    if (km->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        struct pstate *ps = part(c, km->partition);
        if (ps)
            ps->eof = 1;
        c->eof_changed = 1;
        return;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "%s", rd_kafka_message_errstr(km));
    kafka_error(c, km->err, reason);
}

/* ---- setup, run, teardown --------------------------------------------------------- */

static void es_log(void *ctx, const char *msg)
{
    struct consumer *c = ctx;
    clog_(c, "%s", msg);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK)
        return cc_errf(err, errlen, CC_EINVAL, "kafka property %s: %s", name, why);
    return CC_OK;
}

static void register_metrics(struct consumer *c)
{
    struct metrics *m = c->cfg->metrics;
    static const char *const changes_l[] = {"database", "table", "op"};
    static const char *const topic_l[] = {"topic"};
    static const char *const lag_l[] = {"topic", "partition"};
    static const char *const code_l[] = {"code"};
    static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    const char *tv[1] = {c->cfg->topic};
    size_t tl[1] = {c->topic_len};
    c->f_changes = metrics_counter(m, "db_changes_total",
                                   "Row changes consumed from canal-json, by database, table and op "
                                   "(insert, update, delete; ddl counts DDL statements)",
                                   changes_l, 3);
    struct metric_family *f = metrics_counter(m, "cdc_messages_total", "Kafka messages consumed",
                                              topic_l, 1);
    c->m_messages = metric_series_get(f, tv, tl);
    f = metrics_counter(m, "cdc_decode_errors_total",
                        "Messages skipped because they are not canal-json as TiCDC emits it", topic_l, 1);
    c->m_decode_errors = metric_series_get(f, tv, tl);
    f = metrics_gauge(m, "cdc_watermark_timestamp_seconds",
                      "Latest TiCDC watermark (every change committed before it was sent), unix seconds",
                      NULL, 0);
    c->m_watermark = metric_series_get(f, NULL, NULL);
    f = metrics_histogram(m, "cdc_end_to_end_delay_seconds",
                          "Time from the TiDB commit (canal es) to its consumption, seconds", NULL, 0,
                          buckets, sizeof buckets / sizeof buckets[0]);
    c->m_delay = metric_series_get(f, NULL, NULL);
    c->f_lag = metrics_gauge(m, "cdc_consumer_lag",
                             "Messages behind the partition's high watermark (librdkafka statistics)",
                             lag_l, 2);
    f = metrics_gauge(m, "cdc_consumer_up", "1 while the consumer reaches its Kafka brokers", NULL, 0);
    c->m_up = metric_series_get(f, NULL, NULL);
    f = metrics_gauge(m, "cdc_consumer_assigned_partitions",
                      "Partitions currently assigned to this consumer", NULL, 0);
    c->m_assigned = metric_series_get(f, NULL, NULL);
    c->f_kerrs = metrics_counter(m, "cdc_kafka_errors_total", "Kafka client errors by librdkafka code",
                                 code_l, 1);
}

int consume_new(const struct consume_config *cfg, struct consumer **out, char *err, size_t errlen)
{
    struct consumer *c = NULL;
    rd_kafka_conf_t *conf = NULL;
    char why[512];
    int rc = CC_OK;
    *out = NULL;
    if (!cfg->topic || !*cfg->topic || !cfg->group || !*cfg->group || !cfg->brokers || !*cfg->brokers)
        return cc_errf(err, errlen, CC_EINVAL, "brokers, topic and group must not be empty");
    for (const char *p = cfg->topic; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return cc_errf(err, errlen, CC_EINVAL, "topic '%s': not a Kafka topic name ([A-Za-z0-9._-])",
                           cfg->topic);

    c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->log_fd = -1;
    c->topic_len = strlen(cfg->topic);
    c->rnd = (unsigned)getpid() ^ (unsigned)time(NULL);
    c->last_kerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (cfg->es_url) {
        struct essink_config ec = {
            .url = cfg->es_url, .index_prefix = cfg->es_index_prefix, .batch_docs = cfg->es_batch_docs,
            .batch_ms = cfg->es_batch_ms, .metrics = cfg->metrics, .username = cfg->es_username,
            .password = cfg->es_password, .ca_file = cfg->es_ca_file, .defer_template = 1,
            .log = es_log, .log_ctx = c,
        };
        if ((rc = essink_new(&ec, &c->es, err, errlen)) != CC_OK)
            goto fail;
    }
    conf = rd_kafka_conf_new();
    /* Defaults; cfg->props come after and may override any of them. The queue
     * and fetch limits keep the resident size small (librdkafka's 64 MiB queue and
     * 50 MiB fetches would not; a fetch buffer stays allocated while any message
     * in it is queued); wake_fetchers keeps the small queue from throttling
     * throughput. A message larger than fetch.max.bytes is still fetched whole
     * (KIP-74); message.max.bytes only limits requests this consumer sends. */
    const char *defaults[][2] = {
        {"bootstrap.servers", cfg->brokers},
        {"group.id", cfg->group},
        {"client.id", "cdcctl"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"statistics.interval.ms", "5000"},
        {"enable.partition.eof", cfg->exit_at_eof ? "true" : "false"},
        {"queued.max.messages.kbytes", "1024"},
        {"queued.min.messages", "10000"},
        {"fetch.max.bytes", "524288"},
        {"message.max.bytes", "524288"}, /* librdkafka wants it <= fetch.max.bytes */
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if ((rc = conf_set(conf, defaults[i][0], defaults[i][1], err, errlen)) != CC_OK)
            goto fail;
    for (size_t i = 0; i < cfg->nprops; i++) {
        const char *eq = strchr(cfg->props[i], '=');
        if (!eq || eq == cfg->props[i]) {
            rc = cc_errf(err, errlen, CC_EINVAL, "kafka property '%s': expected NAME=VALUE", cfg->props[i]);
            goto fail;
        }
        char *name = xstrndup(cfg->props[i], (size_t)(eq - cfg->props[i]));
        rc = conf_set(conf, name, eq + 1, err, errlen);
        free(name);
        if (rc != CC_OK)
            goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_log_cb(conf, on_log);

    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (!c->rk) {
        rc = cc_errf(err, errlen, CC_EINVAL, "kafka: %s", why);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    c->dec = canal_decoder_new();
    c->obcap = OUTBUF_SIZE;
    c->ob = xmalloc(c->obcap);
    register_metrics(c);
    *out = c;
    return CC_OK;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    consume_free(c);
    return rc;
}

void consume_free(struct consumer *c)
{
    if (!c)
        return;
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    essink_free(c->es);
    canal_decoder_free(c->dec);
    if (c->log_fd >= 0)
        close(c->log_fd);
    for (size_t i = 0; i < c->tabcap; i++) {
        free(c->tab[i].key);
        free(c->tab[i].seg);
    }
    free(c->tab);
    free(c->parts);
    free(c->ob);
    free(c);
}


/* Final flush on shutdown: retries Elasticsearch for a while (or until a second
 * signal); what stays unacknowledged is not stored and will be redelivered. */
static void final_flush(struct consumer *c)
{
    double deadline = now_mono() + SHUTDOWN_ES_SEC;
    double backoff = BACKOFF_MIN;
    while (commit_point(c) != CC_OK && !c->fatal) {
        if (*c->cfg->stop >= 2 || now_mono() + backoff > deadline) {
            clog_(c, "elasticsearch: %zu documents not acknowledged at shutdown; their messages "
                     "will be consumed again",
                  essink_pending(c->es));
            return;
        }
        struct timespec ts = {(time_t)backoff, (long)((backoff - (time_t)backoff) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 > 2 ? 2 : backoff * 2;
    }
}

int consume_run(struct consumer *c, char *err, size_t errlen)
{
    const struct consume_config *cfg = c->cfg;
    rd_kafka_topic_partition_list_t *sub = NULL;
    int subscribed = 0;
    rd_kafka_resp_err_t kerr;

    if (cfg->log_file && open_log(c, err, errlen) != CC_OK)
        return CC_ERR;
    if (c->es) {
        /* The template goes in before any document; when Elasticsearch is not
         * reachable yet, essink_flush installs it before its first _bulk. */
        char why[ERRLEN];
        int rc = essink_install_template(c->es, why, sizeof why);
        if (rc == CC_EINVAL)
            return cc_errf(err, errlen, CC_ERR, "%s", why);
        if (rc != CC_OK)
            clog_(c, "%s (will retry before the first bulk request)", why);
    }
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, cfg->topic, RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (kerr) {
        cc_errf(err, errlen, CC_ERR, "kafka: subscribe to %s: %s", cfg->topic, rd_kafka_err2str(kerr));
        goto out;
    }
    subscribed = 1;
    c->up = 1;
    metric_set(c->m_up, 1);

    while (!*cfg->stop && !c->fatal) {
        int timeout = 100;
        if (c->retrying) {
            long left = (long)((c->next_retry - now_mono()) * 1000);
            timeout = left < 0 ? 0 : left < timeout ? (int)left : timeout;
        } else if (c->es) {
            long due = essink_due_ms(c->es);
            if (due >= 0 && due < timeout)
                timeout = (int)due;
        }
        /* Messages are usually waiting: take what is queued without waiting, up
         * to POLL_BATCH at once (one call instead of one per message), and wait
         * only when nothing is, briefly after a busy spell (see wake_fetchers).
         * librdkafka 2.0.2's batch reads are unsafe only when seek, pause,
         * resume or a rebalance run in parallel with them; here they all run on
         * this thread between reads (the rebalance callback inside one), and a
         * message of a partition revoked meanwhile is dropped unprocessed: its
         * offset is never stored, so the partition's new owner reads it. */
        c->eof_changed = 0; /* set again by EOF events and rebalances in the reads */
        rd_kafka_message_t *batch[POLL_BATCH];
        ssize_t nb = rd_kafka_consume_batch_queue(c->q, 0, batch, POLL_BATCH);
        if (nb < 0)
            nb = 0;
        if (nb == 0 && timeout > 0) {
            rd_kafka_message_t *km = NULL;
            if (c->busy && !c->retrying) {
                km = rd_kafka_consumer_poll(c->rk, timeout < 10 ? timeout : 10);
                if (!km) {
                    c->busy = 0;
                    wake_fetchers(c);
                }
            } else {
                km = rd_kafka_consumer_poll(c->rk, timeout);
            }
            if (km)
                batch[nb++] = km;
        }
        int got = nb > 0;
        for (ssize_t bi = 0; bi < nb; bi++) {
            rd_kafka_message_t *km = batch[bi];
            if (km->err) {
                handle_event(c, km);
            } else {
                struct pstate *ps = part(c, km->partition);
                if (ps && !ps->assigned) {
                    rd_kafka_message_destroy(km); /* revoked during this read */
                    continue;
                }
                if (ps) {
                    ps->eof = 0;
                    ps->next = km->offset + 1;
                }
                c->busy = 1;
                if (!c->up) {
                    c->up = 1;
                    metric_set(c->m_up, 1);
                }
                handle_message(c, km);
            }
            rd_kafka_message_destroy(km);
        }
        if (!got) {
            c->clock_left = 0; /* read the clock again for the next message */
            flush_out(c);      /* idle: make the lines and counts visible */
            flush_metrics(c);
        }
        if (c->unflushed_msgs >= 1024)
            flush_metrics(c);
        if (*cfg->reopen)
            reopen_log(c);
        if (c->retrying) {
            if (now_mono() >= c->next_retry)
                loop_commit(c);
        } else if (c->es) {
            if (essink_due_ms(c->es) == 0 ||
                (c->pending_msgs > 0 && now_mono() - c->pending_since >= cfg->es_batch_ms / 1000.0))
                loop_commit(c);
        } else if (c->pending_msgs > 0 &&
                   (!got || c->pending_msgs >= NOES_BATCH_MSGS ||
                    ((c->pending_msgs & 1023) == 0 && now_mono() - c->pending_since >= NOES_BATCH_SEC))) {
            loop_commit(c);
        }
        /* all_eof walks every partition: only when something could have changed */
        if (cfg->exit_at_eof && !c->retrying && (!got || c->eof_changed) && all_eof(c)) {
            if (c->pending_msgs == 0 && (!c->es || essink_pending(c->es) == 0))
                break;
            loop_commit(c);
        }
    }

out:
    if (subscribed) {
        if (!c->fatal)
            final_flush(c);
        else
            flush_out(c);
        c->closing = 1;
        kerr = rd_kafka_consumer_close(c->rk);
        if (kerr && !c->fatal)
            clog_(c, "kafka: closing the consumer: %s", rd_kafka_err2str(kerr));
        clog_(c, "stopped: %llu messages, %llu CDC_EVENT lines, %llu undecodable",
              (unsigned long long)c->n_msgs, (unsigned long long)c->n_lines, (unsigned long long)c->n_bad);
    }
    if (c->fatal)
        return cc_errf(err, errlen, CC_ERR, "%s", c->fatal_err);
    return subscribed ? CC_OK : CC_ERR;
}
