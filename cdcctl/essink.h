/* essink: Elasticsearch bulk sink for CDC events. Installs the cdc-events index
 * template at start, queues one document per row and sends them with _bulk into
 * <prefix>-YYYY.MM.DD, _id "<topic>-<partition>-<offset>-<row>" (index op, so a
 * redelivered row overwrites instead of duplicating).
 *
 * The sink is synchronous and single-threaded: the consumer queues documents with
 * essink_add and calls essink_flush when essink_due says so. A flush either gets
 * every queued document acknowledged (indexed, or permanently rejected and counted)
 * or leaves the ones still to retry in the queue and returns CC_ERR, so the caller
 * can pause consumption, back off and call essink_flush again. */
#ifndef CDCCTL_ESSINK_H
#define CDCCTL_ESSINK_H
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct essink_config {
    const char *url;          /* http://host:9200 (user:password@ in the URL is honoured and
                                 never printed) */
    const char *index_prefix; /* "cdc-events" */
    size_t batch_docs;        /* flush when this many are queued (default 1000) */
    int batch_ms;             /* or when the oldest is this old (default 1000) */
    struct metrics *metrics;  /* registers cdc_es_* families; may be NULL */
    /* Additions by the consumer's owner: */
    const char *username;     /* basic auth (NULL = none, or from the URL); never printed */
    const char *password;
    long timeout_ms;          /* per HTTP request (default 30000) */
    const char *ca_file;      /* PEM CA bundle for an https URL (NULL = the system's); must be
                                 readable, else essink_new fails with CC_EINVAL */
    int defer_template;       /* 1: no request in essink_new; the first flush installs it */
    /* Diagnostics (one line, no newline, no secrets): permanently rejected documents,
     * template problems. May be NULL. */
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
};

/* One document (one row of a canal-json message). Strings marked "JSON" are the
 * text between the quotes of a JSON string as it appeared in the message (still
 * escaped, so valid JSON string content); they are copied into the queue. */
struct essink_doc {
    const char *topic;     /* [A-Za-z0-9._-] (a Kafka topic name) */
    int32_t partition;
    int64_t offset;
    size_t row;            /* index of the row in `data` (0 for DDL) */
    int64_t es_ms;         /* commit time in ms: @timestamp and the daily index (<=0: now) */
    uint64_t commit_ts;    /* 0 = unknown (sent as null) */
    const char *database;  /* JSON */
    size_t database_len;
    const char *table;     /* JSON */
    size_t table_len;
    const char *op;        /* insert|update|delete|ddl */
    const char *type;      /* JSON: INSERT, CREATE, ... */
    size_t type_len;
    const char *data;      /* raw JSON object text of the row; NULL = null (DDL) */
    size_t data_len;
    const char *sql;       /* JSON; NULL = no "sql" field */
    size_t sql_len;
};

struct essink;

/* Creates the sink and tries to install the index template (PUT
 * _index_template/<prefix>, with index_patterns ["<prefix>-*"]). The template body
 * is the embedded monitoring/elasticsearch/cdc-events-template.json, or a built-in
 * equivalent when that file is absent. CC_EINVAL for a bad configuration (URL,
 * index prefix not a valid lower-case index name); CC_ERR with the server's reason
 * when Elasticsearch rejects the template (a 4xx other than 408/429). When it is
 * merely unreachable (connection error, 408, 429, 5xx) the sink is still created
 * (CC_OK) and the template is installed by the first essink_flush, before any
 * _bulk. *out owns the sink; free with essink_free. */
int essink_new(const struct essink_config *cfg, struct essink **out, char *err, size_t errlen);
void essink_free(struct essink *s);

/* (Re)installs the index template now. CC_OK installed; CC_ERR unreachable or
 * transient (connection error, 408, 429, 5xx: essink_flush will try again before
 * its first _bulk); CC_EINVAL rejected by Elasticsearch. err says why. */
int essink_install_template(struct essink *s, char *err, size_t errlen);

/* Queues one document (copies everything it needs). Never fails. */
void essink_add(struct essink *s, const struct essink_doc *d);

/* Documents queued and not yet acknowledged. */
size_t essink_pending(const struct essink *s);

/* Milliseconds until the queue should be flushed: 0 when batch_docs are queued or
 * the oldest queued document is batch_ms old, -1 when the queue is empty. */
long essink_due_ms(const struct essink *s);

/* Sends the queue with _bulk (after installing the template if that is still
 * pending). CC_OK: every queued document was indexed or permanently rejected
 * (logged once and counted in cdc_es_documents_total{outcome="failed"}); the queue
 * is empty. CC_ERR: a transient failure (connection error, timeout, HTTP 408/429/
 * 5xx, or items answered 429/5xx); err says why and the documents still to send
 * stay queued (only those), so call again after a backoff.
 * A 413 (request larger than the server or a proxy accepts) is not retried as is:
 * the sink halves the bytes it sends per request from then on and sends the queue
 * in several requests; a single document answered 413 is rejected (logged,
 * counted as failed). */
int essink_flush(struct essink *s, char *err, size_t errlen);

/* Exposed for unit tests: the NDJSON body of the next request (all queued
 * documents, or the prefix a 413 limit allows; not NUL-terminated; valid until the
 * next call on s), and the handling of its _bulk answer as essink_flush does it
 * (http_status 0 = connection error). */
const char *essink_body(const struct essink *s, size_t *len);
int essink_handle_response(struct essink *s, long http_status, const char *body, size_t len,
                           char *err, size_t errlen);

#endif
