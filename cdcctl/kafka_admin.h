/* kafka_admin: the Kafka side of the bootstrap and of `cdcctl status`, with
 * librdkafka: describe a topic from cluster metadata (partitions, advertised
 * brokers), create it with the admin API (CreateTopics), read end offsets. */
#ifndef CDCCTL_KAFKA_ADMIN_H
#define CDCCTL_KAFKA_ADMIN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kafka_topic_info {
    int partitions;       /* partition count (0 when the topic is missing) */
    int64_t *end_offsets; /* per partition high watermark, -1 unknown (only when asked) */
    char **brokers;       /* advertised "host:port" of every broker in the metadata */
    size_t nbrokers;
};

/* Frees the arrays inside info (not info itself); accepts a zeroed struct. */
void kafka_topic_info_release(struct kafka_topic_info *info);

/* Fetches cluster metadata from `brokers` (comma-separated host:port) and fills
 * info for `topic`; with want_offsets also queries each partition's end offset.
 * Never creates the topic (all-topics metadata request). CC_OK; CC_ENOTFOUND
 * when the topic does not exist (info->brokers is still filled); CC_ERR when no
 * broker answered within timeout_s (err has librdkafka's reason). */
int kafka_admin_describe(const char *brokers, const char *topic, int want_offsets,
                         double timeout_s, struct kafka_topic_info *info, char *err,
                         size_t errlen);

/* Creates `topic` with the admin API (CreateTopics: partitions, replication
 * factor), waiting up to timeout_s. An "already exists" answer counts as
 * success. CC_ERR otherwise, with err
 * "cannot create topic T: <broker error>; create it yourself with: kafka-topics.sh ...". */
int kafka_admin_create_topic(const char *brokers, const char *topic, int partitions,
                             int replication_factor, double timeout_s, char *err, size_t errlen);

/* Looks at what the brokers advertise (from metadata fetched through
 * host_brokers) and decides whether TiCDC, which dials sink_brokers, could be
 * sent somewhere it cannot reach: when sink_brokers equals host_brokers (one
 * listener) and every advertised address is loopback while either TiCDC runs in
 * a container (ticdc_in_container) or the bootstrap address itself is not
 * loopback. Returns 1 and a warning in warn, else 0. Pure (for tests). */
int kafka_admin_check_advertised(const char *sink_brokers, const char *host_brokers,
                                 int ticdc_in_container, char *const *advertised, size_t n,
                                 char *warn, size_t warnlen);

/* Ensures the topic exists with at least `partitions` partitions: describe,
 * waiting for the brokers (backoff) until the monotonic deadline; create when
 * missing; CC_ERR when it has fewer partitions than asked (TiCDC refuses a
 * partition-num above the topic's); a note when it has more. Prints progress
 * lines "kafka: ..." (progress may be NULL). Also runs the advertised-listener
 * check and prints its warning. */
int kafka_admin_ensure_topic(const char *host_brokers, const char *sink_brokers,
                             const char *topic, int partitions, int replication_factor,
                             int ticdc_in_container, double deadline, FILE *progress, char *err,
                             size_t errlen);

#endif
