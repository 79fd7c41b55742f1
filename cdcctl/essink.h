/* essink: Elasticsearch bulk sink for CDC events. Installs the cdc-events index
 * template at start, queues one document per row and sends them with _bulk into
 * <prefix>-YYYY.MM.DD, _id "<topic>-<partition>-<offset>-<row>" (index op, so a
 * redelivered row overwrites instead of duplicating). */
#ifndef CDCCTL_ESSINK_H
#define CDCCTL_ESSINK_H
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct essink_config {
    const char *url;          /* http://host:9200 */
    const char *index_prefix; /* "cdc-events" */
    size_t batch_docs;        /* flush when this many are queued (default 1000) */
    int batch_ms;             /* or when the oldest is this old (default 1000) */
    struct metrics *metrics;  /* registers cdc_es_* families; may be NULL */
};

struct essink;

/* Creates the sink and installs the index template (PUT _index_template/<prefix>).
 * CC_ERR with the server's reason when it cannot. */
int essink_new(const struct essink_config *cfg, struct essink **out, char *err, size_t errlen);
void essink_free(struct essink *s);
/* (See essink.c for queueing/flush calls; they are defined by the consumer's owner.) */

#endif
