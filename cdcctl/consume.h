/* consume: the Kafka loop behind `cdcctl consume`. A librdkafka consumer group
 * member (cooperative-sticky) that decodes canal-json (canal.h), counts changes in
 * Prometheus metrics (metrics.h), writes one CDC_EVENT line per row to stdout and
 * optionally a log file, and indexes one document per row in Elasticsearch
 * (essink.h). At-least-once: a message's offset is stored only after its lines are
 * written and, with Elasticsearch on, its documents acknowledged.
 *
 * Diagnostics go through the config's log callback; this module prints nothing
 * itself except the CDC_EVENT lines (cdcevent.h) on out_fd. */
#ifndef CDCCTL_CONSUME_H
#define CDCCTL_CONSUME_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "canal.h"
#include "metrics.h"
#include "util.h"

struct consume_config {
    const char *brokers;  /* bootstrap.servers */
    const char *topic;
    const char *group;    /* group.id */
    /* librdkafka properties "name=value" applied in order on top of cdcctl's
     * defaults (manifest properties first, then -X), so anything can be overridden. */
    const char *const *props;
    size_t nprops;

    const char *es_url;          /* NULL = Elasticsearch off */
    const char *es_index_prefix; /* default "cdc-events" */
    const char *es_username;     /* basic auth, NULL = none; never printed */
    const char *es_password;
    const char *es_ca_file;      /* PEM CA bundle for https (NULL = the system's) */
    size_t es_batch_docs;        /* default 1000 */
    int es_batch_ms;             /* default 1000 */

    const char *log_file;        /* CDC_EVENT lines also appended here; NULL = off */
    int out_fd;                  /* CDC_EVENT lines (normally 1); -1 = nowhere */
    int exit_at_eof;             /* stop once every assigned partition is drained */

    struct metrics *metrics;     /* required; consume_new registers its families */
    /* Set by signal handlers: stop != 0 finishes (flush, store, commit, leave the
     * group); stop >= 2 gives up waiting for Elasticsearch. reopen != 0 reopens
     * log_file (logrotate's SIGHUP) and is cleared by the loop. */
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t *reopen;
    /* One diagnostic line (no newline) for stderr; must be thread-safe (librdkafka
     * logs from its own threads). May be NULL. */
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
};

struct consumer;

/* Builds the consumer: the Elasticsearch sink (when es_url is set), librdkafka
 * configuration (defaults, then props), the rd_kafka_t handle, the decoder and the
 * metric families. No request is made yet (librdkafka starts connecting).
 * CC_EINVAL for a bad topic name, Elasticsearch URL or index prefix, or with
 * librdkafka's message for a bad property or value (exit 2); CC_ERR otherwise. *out owns the consumer (free with consume_free). cfg and the
 * strings it points to must outlive the consumer. */
int consume_new(const struct consume_config *cfg, struct consumer **out, char *err, size_t errlen);

/* Installs the Elasticsearch template (when on), subscribes and runs until *stop
 * (or, with exit_at_eof, every assigned partition is at its end), then flushes,
 * stores and commits offsets and leaves the group. CC_OK on a clean stop; CC_ERR
 * with err for a fatal error (write error on stdout or the log file, fatal Kafka
 * error, Elasticsearch rejecting the template). */
int consume_run(struct consumer *c, char *err, size_t errlen);

void consume_free(struct consumer *c);

#endif
