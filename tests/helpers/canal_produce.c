/* canal_produce: produces canal-json messages (as TiCDC emits them) to a Kafka topic,
 * for the consumer's tests and benchmark.
 *
 *   canal_produce -b BROKERS -t TOPIC [-p PARTITIONS] [-n N]
 *                 [--gen insert=N,update=N,delete=N,ddl=N,watermark=N,bad=N]
 *                 [--tables K] [--db NAME] [--es MS] [--size BYTES] [--report FILE]
 *                 [-X prop=value]... [FILE...]
 *
 * Each FILE is one message, byte for byte (a corpus file). -n N generates N DML
 * messages (60% insert, 30% update, 10% delete); --gen gives exact counts per kind.
 * Generated rows cycle over K tables (default 4: orders, customers, items, payments,
 * then t4, t5, ...) of database NAME (default shop); message i of table j goes to
 * partition j % PARTITIONS ("spread by table", so each table stays in order);
 * watermarks, bad messages and files go round-robin. es (commit time, ms) is MS or
 * the current time; --size pads each DML message to about BYTES (a note column).
 *
 * On success prints the counts (one "key=value ..." line each) and exits 0:
 *   produced messages=N rows=R dml=.. ddl=.. watermark=.. bad=.. files=..
 *   count database=D table=T op=O rows=R      (generated messages only; R = lines,
 *                                             so one per DDL; table "" for QUERY DDL)
 * rows= counts the CDC_EVENT lines the generated messages should produce.
 * --report FILE gets one line per delivered message:
 *   P O KIND LINES [database table op | path] (KIND: dml ddl watermark bad file;
 *                                             LINES expected, 0 for files)
 * Exit 1 when a message could not be delivered, 2 for usage errors. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

enum kind { K_INSERT, K_UPDATE, K_DELETE, K_DDL, K_WATERMARK, K_BAD, K_FILE, NKINDS };
static const char *const kind_names[NKINDS] = {"insert", "update", "delete", "ddl", "watermark", "bad", "file"};

/* What a delivery report needs to describe its message (the report's opaque). */
struct sent {
    enum kind kind;
    int rows;
    int table;        /* -1 = none */
    const char *file; /* corpus file name, or NULL */
};

struct ctx {
    FILE *report;
    char **tables;
    const char *db;
    long delivered, failed;
    char first_err[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct ctx *cx = opaque;
    struct sent *s = m->_private;
    (void)rk;
    if (m->err) {
        if (!cx->failed++)
            snprintf(cx->first_err, sizeof cx->first_err, "%s", rd_kafka_err2str(m->err));
    } else {
        cx->delivered++;
        if (cx->report) {
            static const char *const rk_names[NKINDS] = {"dml", "dml", "dml", "ddl", "watermark", "bad", "file"};
            fprintf(cx->report, "%d %lld %s %d", (int)m->partition, (long long)m->offset,
                    rk_names[s->kind], s->rows);
            if (s->table >= 0)
                fprintf(cx->report, " %s %s %s", cx->db, cx->tables[s->table], kind_names[s->kind]);
            else if (s->kind == K_DDL)
                fprintf(cx->report, " %s \"\" ddl", cx->db); /* database-level DDL */
            else if (s->file)
                fprintf(cx->report, " %s", s->file);
            fputc('\n', cx->report);
        }
    }
    free(s);
}

static const char *const ddl_types[] = {"CREATE", "ALTER", "ERASE", "TRUNCATE", "RENAME", "CINDEX", "DINDEX", "QUERY"};

static const char *const bad_msgs[] = {
    "not json at all",
    "{\"id\":0,\"database\":\"shop\",\"table\":\"orders\",\"isDdl\":false,\"type\":\"INSERT\",\"es\":1,\"data\":[{\"id\":\"1\"}",
    "{\"isDdl\":\"no\",\"type\":\"INSERT\"}",
    "[1,2,3]",
    "{\"id\":0,\"database\":\"shop\",\"table\":\"orders\",\"isDdl\":false,\"type\":\"UPSERT\",\"es\":1,\"ts\":1,\"sql\":\"\",\"data\":[{\"id\":\"1\"}],\"old\":null}",
    "",
};

/* Builds message i of kind k into sb. */
static void build(struct strbuf *sb, enum kind k, long i, long nth, const char *db, const char *table, int64_t es,
                  size_t size)
{
    uint64_t commit = ((uint64_t)es << 18) | (uint64_t)(i & 0x3ffff);
    strbuf_reset(sb);
    if (k == K_BAD) {
        strbuf_adds(sb, bad_msgs[i % (long)(sizeof bad_msgs / sizeof bad_msgs[0])]);
        return;
    }
    if (k == K_WATERMARK) {
        strbuf_addf(sb,
                    "{\"id\":0,\"database\":\"\",\"table\":\"\",\"pkNames\":null,\"isDdl\":false,"
                    "\"type\":\"TIDB_WATERMARK\",\"es\":%lld,\"ts\":%lld,\"sql\":\"\",\"sqlType\":null,"
                    "\"mysqlType\":null,\"data\":null,\"old\":null,\"_tidb\":{\"watermarkTs\":%llu}}",
                    (long long)es, (long long)es + 5, (unsigned long long)commit);
        return;
    }
    if (k == K_DDL) {
        const char *t = ddl_types[nth % 8];
        const char *tb = strcmp(t, "QUERY") == 0 ? "" : table;
        char sql[256];
        if (strcmp(t, "CREATE") == 0)
            snprintf(sql, sizeof sql, "CREATE TABLE `%s` (`id` BIGINT PRIMARY KEY, `note` VARCHAR(64))", table);
        else if (strcmp(t, "ALTER") == 0)
            snprintf(sql, sizeof sql, "ALTER TABLE `%s` ADD COLUMN `c%ld` INT", table, i);
        else if (strcmp(t, "ERASE") == 0)
            snprintf(sql, sizeof sql, "DROP TABLE `%s`", table);
        else if (strcmp(t, "TRUNCATE") == 0)
            snprintf(sql, sizeof sql, "TRUNCATE TABLE `%s`", table);
        else if (strcmp(t, "RENAME") == 0)
            snprintf(sql, sizeof sql, "RENAME TABLE `%s` TO `%s_old`", table, table);
        else if (strcmp(t, "CINDEX") == 0)
            snprintf(sql, sizeof sql, "CREATE INDEX `i%ld` ON `%s` (`note`)", i, table);
        else if (strcmp(t, "DINDEX") == 0)
            snprintf(sql, sizeof sql, "DROP INDEX `i%ld` ON `%s`", i, table);
        else
            snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s_%ld`", db, i);
        strbuf_addf(sb,
                    "{\"id\":0,\"database\":\"%s\",\"table\":\"%s\",\"pkNames\":null,\"isDdl\":true,"
                    "\"type\":\"%s\",\"es\":%lld,\"ts\":%lld,\"sql\":\"%s\",\"sqlType\":null,"
                    "\"mysqlType\":null,\"data\":null,\"old\":null,\"_tidb\":{\"commitTs\":%llu}}",
                    db, tb, t, (long long)es, (long long)es + 5, sql, (unsigned long long)commit);
        return;
    }
    static const char *const types[] = {"INSERT", "UPDATE", "DELETE"};
    static const char *const status[] = {"new", "paid", "shipped", "done"};
    /* Without --size: id, amount, status (about 330 bytes with _tidb). With it, a
     * note column pads the message to about `size` bytes. */
    for (int pass = 0; pass < 2; pass++) {
        char note[1200];
        size_t nlen = 0;
        if (pass == 1) {
            size_t base = sb->len + 30; /* the note column's own overhead */
            nlen = size > base ? size - base : 1;
            if (nlen > sizeof note - 1)
                nlen = sizeof note - 1;
        }
        for (size_t j = 0; j < nlen; j++)
            note[j] = (char)('a' + (i + (long)j) % 26);
        note[nlen] = '\0';
        strbuf_reset(sb);
        strbuf_addf(sb,
                    "{\"id\":0,\"database\":\"%s\",\"table\":\"%s\",\"pkNames\":[\"id\"],\"isDdl\":false,"
                    "\"type\":\"%s\",\"es\":%lld,\"ts\":%lld,\"sql\":\"\",\"sqlType\":{\"id\":-5,\"amount\":3,"
                    "\"status\":12%s},\"mysqlType\":{\"id\":\"bigint\",\"amount\":\"decimal\",\"status\":\"varchar\"%s},"
                    "\"data\":[{\"id\":\"%ld\",\"amount\":\"%ld.%02ld\",\"status\":\"%s\"",
                    db, table, types[k], (long long)es, (long long)es + 5, pass ? ",\"note\":12" : "",
                    pass ? ",\"note\":\"varchar\"" : "", i, i % 1000, i % 100, status[i % 4]);
        if (pass)
            strbuf_addf(sb, ",\"note\":\"%s\"", note);
        strbuf_adds(sb, "}],\"old\":");
        if (k == K_UPDATE)
            strbuf_addf(sb, "[{\"id\":\"%ld\",\"amount\":\"0.00\",\"status\":\"new\"%s}]", i,
                        pass ? ",\"note\":null" : "");
        else
            strbuf_adds(sb, "null");
        strbuf_addf(sb, ",\"_tidb\":{\"commitTs\":%llu}}", (unsigned long long)commit);
        if (size == 0 || sb->len >= size)
            break;
    }
}

static int produce(rd_kafka_t *rk, const char *topic, int32_t partition, const void *p, size_t len,
                   struct sent *s)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_VALUE((void *)(len ? p : NULL), len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(s), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 50);
            continue;
        }
        if (e) {
            fprintf(stderr, "canal_produce: produce: %s\n", rd_kafka_err2str(e));
            free(s);
            return -1;
        }
        return 0;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: canal_produce -b BROKERS -t TOPIC [-p PARTITIONS] [-n N]\n"
                    "       [--gen insert=N,update=N,delete=N,ddl=N,watermark=N,bad=N] [--tables K]\n"
                    "       [--db NAME] [--es MS] [--size BYTES] [--report FILE] [-X prop=value]... [FILE...]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gen", required_argument, NULL, 'g'}, {"tables", required_argument, NULL, 'k'},
        {"db", required_argument, NULL, 'd'},  {"es", required_argument, NULL, 'e'},
        {"size", required_argument, NULL, 's'}, {"report", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = NULL, *report = NULL, *db = "shop";
    long counts[NKINDS] = {0}, n = 0, ntables = 4, size = 0;
    int partitions = 1, opt, rc = 1;
    int64_t es_fixed = 0;
    const char *xprops[64];
    int nx = 0;
    while ((opt = getopt_long(argc, argv, "b:t:p:n:X:", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'p': partitions = atoi(optarg); break;
        case 'n': n = atol(optarg); break;
        case 'k': ntables = atol(optarg); break;
        case 'd': db = optarg; break;
        case 'e': es_fixed = atoll(optarg); break;
        case 's': size = atol(optarg); break;
        case 'r': report = optarg; break;
        case 'X':
            if (nx < 64)
                xprops[nx++] = optarg;
            break;
        case 'g': {
            char *spec = xstrdup(optarg), *save = NULL;
            for (char *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                int found = 0;
                if (eq) {
                    *eq = '\0';
                    for (int k = 0; k < K_FILE; k++)
                        if (strcmp(tok, kind_names[k]) == 0) {
                            counts[k] += atol(eq + 1);
                            found = 1;
                        }
                }
                if (!found) {
                    fprintf(stderr, "canal_produce: --gen: bad item '%s'\n", tok);
                    free(spec);
                    return 2;
                }
            }
            free(spec);
            break;
        }
        default:
            usage();
            return 2;
        }
    }
    if (!brokers || !topic || partitions < 1 || ntables < 1) {
        usage();
        return 2;
    }
    counts[K_INSERT] += n * 6 / 10;
    counts[K_UPDATE] += n * 3 / 10;
    counts[K_DELETE] += n - n * 6 / 10 - n * 3 / 10;

    struct ctx cx = {0};
    cx.db = db;
    cx.tables = xcalloc((size_t)ntables, sizeof *cx.tables);
    static const char *const names[] = {"orders", "customers", "items", "payments"};
    for (long j = 0; j < ntables; j++) {
        if (j < 4) {
            cx.tables[j] = xstrdup(names[j]);
        } else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "t%ld", j);
            cx.tables[j] = xstrdup(tmp);
        }
    }
    if (report && !(cx.report = fopen(report, "w"))) {
        perror(report);
        return 1;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *defaults[][2] = {
        {"bootstrap.servers", brokers}, {"linger.ms", "20"},
        {"queue.buffering.max.messages", "1000000"}, {"queue.buffering.max.kbytes", "1048576"},
        {"batch.num.messages", "10000"}, {"log_level", "3"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1], errstr, sizeof errstr);
    for (int i = 0; i < nx; i++) {
        char *name = xstrdup(xprops[i]), *eq = strchr(name, '=');
        if (!eq || rd_kafka_conf_set(conf, name, (*eq = '\0', eq + 1), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "canal_produce: -X %s: %s\n", xprops[i], eq ? errstr : "expected NAME=VALUE");
            free(name);
            return 2;
        }
        free(name);
    }
    rd_kafka_conf_set_opaque(conf, &cx);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "canal_produce: %s\n", errstr);
        return 1;
    }

    struct strbuf sb = {0};
    long total = 0, rows = 0, rr = 0, nth[NKINDS] = {0};
    /* Lines expected per op (insert, update, delete, ddl) and table; index ntables is
     * the "" table of database-level DDL. */
    long *perop = xcalloc(4 * ((size_t)ntables + 1), sizeof *perop);
    long left[NKINDS];
    memcpy(left, counts, sizeof left);
    for (;;) {
        /* Interleave the kinds evenly: next is the kind with the largest share left. */
        int k = -1;
        double best = 0;
        for (int q = 0; q < K_FILE; q++)
            if (left[q] > 0 && (double)left[q] / (double)counts[q] > best) {
                best = (double)left[q] / (double)counts[q];
                k = q;
            }
        if (k < 0)
            break;
        left[k]--;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t es = es_fixed ? es_fixed : (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        int table = (k <= K_DDL) ? (int)(total % ntables) : -1;
        build(&sb, (enum kind)k, total, nth[k], db, table >= 0 ? cx.tables[table] : "", es, (size_t)size);
        int32_t part = table >= 0 ? table % partitions : (int32_t)(rr++ % partitions);
        struct sent *s = xmalloc(sizeof *s);
        s->kind = (enum kind)k;
        s->rows = k <= K_DDL ? 1 : 0;
        s->table = table;
        s->file = NULL;
        if (k == K_DDL && strcmp(ddl_types[nth[k] % 8], "QUERY") == 0)
            s->table = -1; /* database-level DDL: table "" */
        if (k <= K_DDL) {
            perop[(size_t)k * ((size_t)ntables + 1) + (s->table >= 0 ? (size_t)s->table : (size_t)ntables)]++;
            rows++;
        }
        if (produce(rk, topic, part, sb.buf, sb.len, s) != 0)
            goto out;
        total++;
        nth[k]++;
        if ((total & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    for (int i = optind; i < argc; i++) {
        char *data = NULL;
        size_t len = 0;
        char err[ERRLEN];
        if (read_file(argv[i], &data, &len, err, sizeof err) != CC_OK) {
            fprintf(stderr, "canal_produce: %s\n", err);
            goto out;
        }
        struct sent *s = xmalloc(sizeof *s);
        s->kind = K_FILE;
        s->rows = 0;
        s->table = -1;
        s->file = argv[i];
        int r = produce(rk, topic, (int32_t)(rr++ % partitions), data, len, s);
        free(data);
        if (r != 0)
            goto out;
        counts[K_FILE]++;
        total++;
    }
    rd_kafka_flush(rk, 120000);
    if (rd_kafka_outq_len(rk) > 0 || cx.failed) {
        fprintf(stderr, "canal_produce: %ld of %ld messages not delivered: %s\n",
                cx.failed + rd_kafka_outq_len(rk), total, cx.failed ? cx.first_err : "timed out");
        goto out;
    }
    printf("produced messages=%ld rows=%ld dml=%ld ddl=%ld watermark=%ld bad=%ld files=%ld\n", total, rows,
           counts[K_INSERT] + counts[K_UPDATE] + counts[K_DELETE], counts[K_DDL], counts[K_WATERMARK],
           counts[K_BAD], counts[K_FILE]);
    for (int k = 0; k <= K_DDL; k++)
        for (long j = 0; j <= ntables; j++)
            if (perop[(size_t)k * ((size_t)ntables + 1) + (size_t)j])
                printf("count database=%s table=%s op=%s rows=%ld\n", db, j < ntables ? cx.tables[j] : "\"\"",
                       kind_names[k], perop[(size_t)k * ((size_t)ntables + 1) + (size_t)j]);
    rc = 0;
out:
    rd_kafka_destroy(rk);
    strbuf_release(&sb);
    free(perop);
    if (cx.report)
        fclose(cx.report);
    for (long j = 0; j < ntables; j++)
        free(cx.tables[j]);
    free(cx.tables);
    return rc;
}
