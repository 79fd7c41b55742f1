/* bootstrap: what `cdcctl up` does once the containers are ready: TiDB schema and
 * users (MariaDB Connector/C), the Kafka topic (librdkafka admin API) and the TiCDC
 * changefeed (REST API v2, v1 fallback). Idempotent. See reference/tidb-ticdc.md. */
#ifndef CDCCTL_BOOTSTRAP_H
#define CDCCTL_BOOTSTRAP_H
#include <stdio.h>

#include "endpoint.h"
#include "manifest.h"
#include "status.h"

struct bootstrap_options {
    const char *state_dir; /* per-project state directory (generated passwords, 0700) */
    double timeout_s;      /* overall deadline for readiness waits (default 300) */
    FILE *progress;        /* human progress lines ("tidb: waiting for TiKV store Up..."), or NULL */
};

/* Runs every step the manifest's tidb/kafka/ticdc sections ask for, in order:
 * TiDB ready -> schema -> users; topic; changefeed. Sections that are absent are
 * skipped. Returns CC_OK, or CC_ERR/CC_ETIMEOUT with err naming the step and the
 * server's own error (TiCDC error_code/error_msg, MySQL errno/message). Never
 * prints passwords. */
int bootstrap_up(const struct manifest *m, const struct endpoint_resolver *r,
                 const struct bootstrap_options *opt, char *err, size_t errlen);

/* Adds status rows for TiDB (reachable, version), the changefeed (state, checkpoint
 * time, lag seconds, last error) and the topic (partitions, end offsets). Rows that
 * cannot be checked are added with ok = 0 and the reason. */
void bootstrap_status(const struct manifest *m, const struct endpoint_resolver *r,
                      const struct bootstrap_options *opt, struct status_table *t);

#endif
